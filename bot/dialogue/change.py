"""What a change requires, and its deadline: the regulation's 30 days ahead, guides' 30 after.

The texts are in conversations/change_texts.yaml; this module picks and fills them.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.content import conversations_dir, load_yaml

# 《非经营性互联网信息服务备案管理办法》 asks for changes to be filed 30 days ahead (提前三十日);
# the article and many guides say within 30 days after. Both are kept (facts 67).
DAYS_AHEAD = 30
DAYS_AFTER = 30


class ChangeTexts(BaseModel):
    """conversations/change_texts.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    add_domain: str
    ip_commercial: str
    ip: str
    provider: str
    what: dict[str, str]
    head: str
    ahead_past: str
    ahead: str
    happened: str
    happened_limit: str
    stays_up: str
    subject_limits: str
    source: str
    date: str


@cache
def load_change_texts() -> ChangeTexts:
    """Load conversations/change_texts.yaml once."""
    return load_yaml(conversations_dir() / "change_texts.yaml", ChangeTexts)


def _value(values: dict[str, Any], name: str) -> Any:
    answer = values.get(name)
    return None if answer is None else answer["value"]


def change_deadline(values: dict[str, Any]) -> tuple[date, str] | None:
    """(deadline, which rule) for a change that must be filed, or None when none applies."""
    kind, raw = _value(values, "change_type"), _value(values, "change_date")
    if kind not in {"subject", "site_name", "remove_domain"} or not raw:
        return None
    when = date.fromisoformat(str(raw))
    if _value(values, "timing") == "planned":
        return when - timedelta(days=DAYS_AHEAD), "regulation"
    return when + timedelta(days=DAYS_AFTER), "guides"


def explain_change(values: dict[str, Any], today: date) -> str:
    """The steps for this change, with the deadline in words."""
    t = load_change_texts()
    kind = _value(values, "change_type")
    if kind == "add_domain":
        return t.add_domain
    if kind == "ip":
        return t.ip_commercial if _value(values, "commercial_licence") == "yes" else t.ip
    if kind == "provider":
        return t.provider
    lines = [t.head.format(what=t.what.get(str(kind), "备案信息"))]
    deadline = change_deadline(values)
    if deadline is not None:
        day, rule = deadline
        shown = t.date.format(year=day.year, month=day.month, day=day.day)
        if rule == "regulation":
            lines.append((t.ahead_past if day < today else t.ahead).format(day=shown))
        else:
            lines += [t.happened, t.happened_limit.format(day=shown)]
    lines.append(t.stays_up)
    if kind == "subject":
        lines.append(t.subject_limits)
    lines.append(t.source)
    return "\n".join(lines)
