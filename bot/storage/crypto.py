"""Personal values at rest: sealed with Fernet (keys rotate with MultiFernet), never plaintext.

Why Fernet per value rather than SQLCipher for the whole file: SQLCipher needs a patched
SQLite build that neither the standard `sqlite3` module nor PostgreSQL has, while Fernet is
in `cryptography` (a wheel on every platform) and works the same on both backends. What stays
readable are the keys the stores look rows up by (channel, chat and user ids), the statuses
and the times; every value a user typed or a platform sent about them is sealed.

The key comes from BEIAN_DATA_KEY (several keys separated by commas: the first seals, all
open; at the start after a new key was put first, every value is sealed again with it, and
then the old key can go), or else from a key file beside the database, created
on first run with mode 0600 so that the one-command start still works.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from bot.errors import ConfigError

# Marks a sealed value, so a value written before encryption existed is recognised (and
# sealed by the migration) instead of being fed to Fernet.
PREFIX = "fernet:"
# Sealed into the database once; a key that cannot open it is the wrong key.
_PROBE = "beian-bot data key check"


class DataCipher:
    """Seals and opens text values with the configured keys."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one key")
        try:
            fernets = [Fernet(key) for key in keys]
            self._primary = fernets[0]
            self._fernet = MultiFernet(fernets)
        except ValueError as exc:  # not 32 url-safe base64-encoded bytes
            raise ConfigError(
                "BEIAN_DATA_KEY is not a valid key: each key is 44 characters of url-safe "
                "base64, as printed by `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`"
            ) from exc

    @classmethod
    def generate(cls) -> DataCipher:
        """A cipher with a fresh random key (for a database in memory)."""
        return cls([Fernet.generate_key()])

    def seal(self, value: str) -> str:
        """The value encrypted and authenticated, as text."""
        return PREFIX + self._fernet.encrypt(value.encode()).decode()

    def open(self, stored: str) -> str:
        """The value back; a value from before encryption is returned as it is."""
        if not stored.startswith(PREFIX):
            return stored
        try:
            return self._fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except InvalidToken as exc:
            raise WrongKeyError("a stored value does not open with the data key") from exc

    def reseal(self, stored: str) -> str:
        """The value sealed with the first key (rotation); plaintext gets sealed."""
        if not is_sealed(stored):
            return self.seal(stored)
        return PREFIX + self._fernet.rotate(stored[len(PREFIX) :].encode()).decode()

    def seals_with_first_key(self, stored: str) -> bool:
        """Whether the first key alone opens the value (False: a rotation is pending)."""
        try:
            self._primary.decrypt(stored[len(PREFIX) :].encode())
        except InvalidToken:
            return False
        return True

    def probe(self) -> str:
        """A sealed known value: stored once, it tells a wrong key at the next start."""
        return self.seal(_PROBE)

    def check(self, probe: str) -> None:
        """Raise WrongKeyError when `probe` was sealed with a key this cipher lacks."""
        if self.open(probe) != _PROBE:
            raise WrongKeyError("the data key check does not match")


class WrongKeyError(ConfigError):
    """The key does not open data already in the database: stop, never write plaintext."""


def is_sealed(stored: str) -> bool:
    """Whether a stored value is already sealed."""
    return stored.startswith(PREFIX)


def key_file_of(db_path: Path) -> Path:
    """Where the generated key lives: beside the database."""
    return db_path.with_name(db_path.name + ".key")


def configured_keys(configured: str) -> list[str]:
    """The keys BEIAN_DATA_KEY lists, newest first, separated by commas."""
    return [k.strip() for k in configured.split(",") if k.strip()]


def key_file_keys(text: str) -> list[str]:
    """The keys a key file holds, one a line, newest first."""
    return [line.strip() for line in text.splitlines() if line.strip()]


def load_cipher(db_path: Path | str, configured: str | None = None) -> DataCipher:
    """The cipher for a database: BEIAN_DATA_KEY when set, else the key file (made if new)."""
    if configured and configured.strip():
        return DataCipher([k.encode() for k in configured_keys(configured)])
    if str(db_path) == ":memory:":
        return DataCipher.generate()
    key_file = key_file_of(Path(db_path))
    if not key_file.exists():
        _create_key_file(key_file)
    keys = [k.encode() for k in key_file_keys(key_file.read_text())]
    if not keys:
        raise ConfigError(f"the data key file {key_file} is empty: restore it from your backup")
    return DataCipher(keys)


def _create_key_file(key_file: Path) -> None:
    """A new random key, mode 0600; two processes starting together keep the same one."""
    key_file.parent.mkdir(parents=True, exist_ok=True)
    draft = key_file.with_name(f"{key_file.name}.{os.getpid()}.tmp")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(Fernet.generate_key() + b"\n")
    try:
        # A hard link appears whole or not at all, and fails if the other process won.
        os.link(draft, key_file)
    except FileExistsError:
        pass
    finally:
        draft.unlink()
