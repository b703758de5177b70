"""Personal data is masked on display and never reaches a log handler."""

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.privacy import install_log_redaction, mask_email, mask_id_number, mask_mobile, redact


def test_masks_keep_only_what_identifies_nobody() -> None:
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_mobile("+86 138-1234-5678") == "138****5678"
    assert mask_email("zhangsan@example.com") == "z***@example.com"


def test_redact_finds_numbers_in_free_text_but_not_order_numbers() -> None:
    text = "身份证11010519491231002X，手机13812345678，订单 2026112712345678901"
    out = redact(text)
    assert "11010519491231002X" not in out and "13812345678" not in out
    assert "2026112712345678901" in out


@contextmanager
def captured(logger_name: str) -> Iterator[io.StringIO]:
    """What `logger_name` writes at INFO and above, through the redacting filter only."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger(logger_name)
    saved = (logger.propagate, logger.level)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    install_log_redaction(logger)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.propagate, logger.level = saved


def test_log_records_and_tracebacks_are_redacted() -> None:
    with captured("test.privacy") as stream:
        logger = logging.getLogger("test.privacy")
        logger.warning("user typed %s", "13812345678")
        try:
            raise ValueError("bad id 11010519491231002X")
        except ValueError:
            logger.exception("failed")
    text = stream.getvalue()
    assert "138****5678" in text and "110***********002X" in text
    assert "13812345678" not in text and "11010519491231002X" not in text


@pytest.mark.parametrize(
    ("logger_name", "message", "args", "secret"),
    [
        # httpx's own format, as python-telegram-bot's requests produce it.
        (
            "httpx",
            'HTTP Request: %s %s "%s %d %s"',
            (
                "POST",
                "https://api.telegram.org/bot123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw/getUpdates",
                "HTTP/1.1",
                200,
                "OK",
            ),
            "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw",
        ),
        (
            "bot.channels.wecom",
            "posting to %s",
            (
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
            ),
            "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
        ),
        (
            "bot.channels.wecom",
            "sent %s",
            ('{"cmd": "aibot_subscribe", "body": {"bot_id": "b1", "secret": "s3cr3t-Value_9"}}',),
            "s3cr3t-Value_9",
        ),
    ],
)
def test_secrets_in_library_log_lines_are_redacted(
    logger_name: str, message: str, args: tuple[object, ...], secret: str
) -> None:
    with captured(logger_name) as stream:
        logging.getLogger(logger_name).info(message, *args)
    text = stream.getvalue()
    assert text.strip() and secret not in text
    assert "api.telegram.org" in text or "qyapi" in text or "aibot_subscribe" in text
