"""Shared fixtures: clean environment, settings on a temp SQLite file, the real engine."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings
from hypothesis.errors import InvalidArgument
from sqlite_utils import Database

from bot.app import App, build_app, build_retriever
from bot.config import Settings
from bot.faq.retriever import Retriever
from bot.storage.base import Storage
from bot.storage.sqlite import SqliteStorage

# One cache for the whole run: the trimmed jieba dictionary is built once, like a user's cache.
CACHE_DIR = Path(__file__).resolve().parent.parent / ".pytest_cache" / "beian-bot"

# CI: the same examples on every run (a failure is reproducible from the log and its blob),
# and no deadline on a shared 2-core runner. Loaded when CI or BEIAN_HYPOTHESIS_PROFILE is set;
# BEIAN_HYPOTHESIS_PROFILE may also name another registered profile.
hypothesis_settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
_PROFILE = os.environ.get("BEIAN_HYPOTHESIS_PROFILE", "")
if _PROFILE or os.environ.get("CI"):
    try:
        hypothesis_settings.load_profile(_PROFILE)
    except InvalidArgument:  # unset, or "1": the CI profile
        hypothesis_settings.load_profile("ci")


def sqlite_db(storage: Storage) -> Database:
    """The sqlite-utils database under `storage`, for tests that look at the SQLite file."""
    assert isinstance(storage, SqliteStorage), storage
    return storage.db


@pytest.fixture(autouse=True)
def clean_environ() -> Iterator[None]:
    """Keep BEIAN_* variables of the developer's shell out of every test."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("BEIAN_"):
            del os.environ[key]
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a fresh SQLite file, no .env file read."""
    return Settings(_env_file=None, db_path=tmp_path / "beian.db", cache_dir=CACHE_DIR)


@pytest.fixture(scope="session")
def retriever() -> Retriever:
    """The real FAQ retriever over knowledge/ (built once per run)."""
    return build_retriever(Settings(_env_file=None, cache_dir=CACHE_DIR))


@pytest.fixture
def app(settings: Settings) -> Iterator[App]:
    """The real app on a temp database."""
    application = build_app(settings)
    yield application
    application.storage.close()


async def until(condition: Callable[[], object], timeout: float = 10.0) -> None:
    """Wait until `condition()` holds; TimeoutError past `timeout` seconds."""
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.02)
