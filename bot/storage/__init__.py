"""The only code that writes SQL: SQLite through sqlite-utils, migrations, atomic claims."""
