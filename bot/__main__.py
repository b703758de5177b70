"""`python -m bot` is the same as `beian-bot`."""

import sys

from bot.cli import main

sys.exit(main())
