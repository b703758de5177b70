"""The one error tree of beian-bot.

* BeianError                 root; never shown to a user as a traceback
  + InputError               a user's value is wrong: carries the zh-CN reason and a valid
  |                          example; the engine replies with it and leaves the state alone
  + ContentError             a knowledge/ or conversations/ file is broken; names the
  |                          file, the entry and the field
  + ConfigError              a setting is missing or wrong (e.g. no token): names the variable
"""

from __future__ import annotations


class BeianError(Exception):
    """Root of every error beian-bot raises on purpose."""


class InputError(BeianError):
    """A user-supplied value was rejected; `reason` and `example` are shown to the user."""

    def __init__(self, reason: str, example: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.example = example

    def reply_text(self) -> str:
        """The zh-CN reply: what was wrong, then what a valid value looks like."""
        if self.example:
            return f"{self.reason}\n正确的例子：{self.example}"
        return self.reason


class ContentError(BeianError):
    """A content file failed validation at start-up."""


class ConfigError(BeianError):
    """A required setting is missing or invalid."""
