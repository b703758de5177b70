"""Masking of personal data for display, and a logging filter that keeps it out of logs."""

from __future__ import annotations

import logging
import re

# Resident ID: 17 digits + digit/X. Mainland mobile: 1[3-9] + 9 digits. Both unanchored by
# letters/digits on either side so that order numbers and timestamps are not caught.
ID_NUMBER_RE = re.compile(
    r"(?<![0-9A-Za-z])\d{6}(?:18|19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?![0-9A-Za-z])"
)
MOBILE_RE = re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d[- ]?\d{4}[- ]?\d{4}(?!\d)")
EMAIL_RE = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Secrets that libraries put in log lines: httpx logs every Bot API URL, which carries the
# bot token (https://api.telegram.org/bot<id>:<secret>/getUpdates); a WeCom robot webhook
# URL carries its key; a logged subscribe frame would carry the bot's secret.
_SECRETS = (
    (re.compile(r"(?<![\d:])\d{5,12}:[A-Za-z0-9_-]{30,}"), "<bot-token>"),
    (re.compile(r"([?&]key=)[A-Za-z0-9-]{8,}"), r"\1<key>"),
    (re.compile(r"""(["']?secret["']?\s*[:=]\s*["']?)[^"',\s}]+""", re.I), r"\1<secret>"),
)


def mask_id_number(value: str) -> str:
    """330***********123X: the first three and last four characters survive."""
    if len(value) <= 7:
        return "*" * len(value)
    return value[:3] + "*" * (len(value) - 7) + value[-4:]


def mask_mobile(value: str) -> str:
    """138****5678."""
    digits = re.sub(r"\D", "", value)[-11:]
    if len(digits) != 11:
        return "*" * len(value)
    return f"{digits[:3]}****{digits[-4:]}"


def mask_email(value: str) -> str:
    """a***@example.com."""
    local, _, domain = value.partition("@")
    if not domain:
        return "*" * len(value)
    return f"{local[:1]}***@{domain}"


def mask_name(value: str) -> str:
    """张*明 / 张* : keep the family name and, for three or more characters, the last one."""
    if len(value) <= 1:
        return value
    if len(value) == 2:
        return value[0] + "*"
    return value[0] + "*" * (len(value) - 2) + value[-1]


def contains_personal_data(text: str) -> bool:
    """Whether a message carries an ID-card number or a mainland mobile number."""
    return bool(ID_NUMBER_RE.search(text) or MOBILE_RE.search(text))


def redact(text: str) -> str:
    """Mask every ID number, mobile number, e-mail address and secret found in free text."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    text = ID_NUMBER_RE.sub(lambda m: mask_id_number(m.group()), text)
    text = MOBILE_RE.sub(lambda m: mask_mobile(m.group()), text)
    return EMAIL_RE.sub(lambda m: mask_email(m.group()), text)


class RedactingFilter(logging.Filter):
    """Rewrites every log record so personal data and secrets never reach a handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message once, redact it, and drop the args."""
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        # A traceback can quote user input (a validation error's input_value): the formatter
        # reuses exc_text when it is set, so set it to the redacted text.
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_log_redaction(logger: logging.Logger | None = None) -> None:
    """Attach the redacting filter to every handler of the root (or given) logger."""
    target = logger or logging.getLogger()
    for handler in target.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def configure_logging(level: str) -> None:
    """Log to stderr at `level` (BEIAN_LOG_LEVEL), personal data redacted from every record."""
    logging.basicConfig(
        level=level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    install_log_redaction()
