"""Translation between the planner's models and the storage layer's plain rows."""

from __future__ import annotations

import json

from bot.messages import ChatKind, ChatRef
from bot.reminders.models import (
    Owner,
    Payload,
    PlannedReminder,
    ReminderKind,
    ReminderRow,
    Status,
    from_unix,
    to_unix,
)
from bot.storage.base import NewReminder, StoredReminder


def to_new(owner: Owner, series: str, planned: PlannedReminder) -> NewReminder:
    """A planned reminder as a row to insert for `owner`."""
    return NewReminder(
        channel=owner.chat.channel,
        chat_id=owner.chat.chat_id,
        chat_kind=owner.chat.kind.value,
        user_id=owner.user_id,
        user_name=owner.user_name,
        series=series,
        kind=planned.kind.value,
        step=planned.step,
        payload=dump_payload(planned.payload),
        due_at=to_unix(planned.due_at),
        urgent=planned.urgent,
    )


def from_stored(stored: StoredReminder) -> ReminderRow:
    """A stored row as the model the texts and the service work with."""
    chat = ChatRef(channel=stored.channel, chat_id=stored.chat_id, kind=ChatKind(stored.chat_kind))
    return ReminderRow(
        id=stored.id,
        owner=Owner(chat=chat, user_id=stored.user_id, user_name=stored.user_name),
        series=stored.series,
        kind=ReminderKind(stored.kind),
        step=stored.step,
        payload=load_payload(stored.payload),
        due_at=from_unix(stored.due_at),
        urgent=stored.urgent,
        status=Status(stored.status),
        attempts=stored.attempts,
        late=stored.late,
        claimed_by=stored.claimed_by,
    )


def dump_payload(payload: Payload) -> str:
    """Payload -> compact JSON text (Chinese kept readable)."""
    return json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def load_payload(text: str) -> Payload:
    """JSON text -> payload; anything unexpected is dropped rather than failing a send."""
    try:
        raw = json.loads(text)
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {str(k): v for k, v in raw.items() if isinstance(v, str | int)}
