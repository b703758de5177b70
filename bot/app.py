"""Composition root: Settings -> Database -> Engine (-> reminders -> channel)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlite_utils import Database

from bot.config import Settings
from bot.dialogue.desk import FilingDesk, load_forms
from bot.dialogue.texts import load_dialogue_texts
from bot.engine import Engine
from bot.faq.knowledge import load_knowledge
from bot.faq.retriever import Retriever
from bot.privacy import install_log_redaction
from bot.replies import load_replies
from bot.storage.db import open_database
from bot.storage.filings import FilingStore
from bot.storage.sessions import SessionStore


@dataclass
class App:
    """The wired-up core a channel runs on."""

    settings: Settings
    db: Database
    engine: Engine


def configure_logging(settings: Settings) -> None:
    """Log to stderr at BEIAN_LOG_LEVEL, with personal data redacted from every record."""
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    install_log_redaction()


def build_retriever(settings: Settings) -> Retriever:
    """Load the knowledge base and build the FAQ index."""
    return Retriever(load_knowledge(), cache_dir=settings.cache_dir)


def build_app(settings: Settings) -> App:
    """Open the database and build the engine on it."""
    db = open_database(settings.db_path)
    desk = FilingDesk(
        forms=load_forms(),
        texts=load_dialogue_texts(),
        filings=FilingStore(db),
        today=lambda: datetime.now(ZoneInfo(settings.timezone)).date(),
    )
    engine = Engine(
        retriever=build_retriever(settings),
        sessions=SessionStore(db),
        replies=load_replies(),
        desk=desk,
        bot_name=settings.bot_name,
    )
    return App(settings=settings, db=db, engine=engine)
