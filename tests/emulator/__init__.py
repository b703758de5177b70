"""A small Telegram Bot API emulator for tests (real HTTP, real long polling)."""

from .client import (
    DEFAULT_TOKEN,
    EmuChat,
    EmulatorState,
    EmuUser,
    RequestRecord,
    SentMessage,
    UploadedFile,
    compute_entities,
    utf16_len,
)
from .server import ApiError, BotApiEmulator

__all__ = [
    "DEFAULT_TOKEN",
    "ApiError",
    "BotApiEmulator",
    "EmuChat",
    "EmuUser",
    "EmulatorState",
    "RequestRecord",
    "SentMessage",
    "UploadedFile",
    "compute_entities",
    "utf16_len",
]
