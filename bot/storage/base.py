"""What the core needs from a database: one ABC per store, the row models, `open_storage`.

A backend lives in its own sub-package (`bot/storage/sqlite/`) and implements `Storage`;
nothing outside that package and `bot.app` names a backend. Every method is synchronous:
the core is, and a network backend's driver has a sync API too (psycopg 3).
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

if TYPE_CHECKING:
    from bot.config import Settings

# Statuses a user can still change (done/cancel/snooze) and that /reminders lists.
OPEN_STATUSES = ("pending", "paused", "claimed")
# Telegram keeps an undelivered update at most 24 hours, so a day of memory is enough.
REMEMBER_SECONDS = 24 * 3600


class StorageUnavailable(Exception):
    """The database cannot take a write now (disk full, read-only): nothing was saved.

    Backends raise it instead of their driver's error, so the core can say so to the user
    and a webhook can answer 503 (the platform then resends) instead of pretending."""


# ---- row models ------------------------------------------------------------------------------


class FilingRow(BaseModel):
    """One stored filing."""

    id: int
    form_id: str
    label: str
    status: str
    data: dict[str, Any]
    updated_at: str


@dataclass(frozen=True)
class NewReminder:
    """A reminder to insert; `payload` is JSON text, `due_at` unix seconds UTC."""

    channel: str
    chat_id: str
    chat_kind: str
    user_id: str
    user_name: str
    series: str
    kind: str
    step: str
    payload: str
    due_at: int
    urgent: bool = False


@dataclass(frozen=True)
class StoredReminder:
    """One stored reminder."""

    id: int
    channel: str
    chat_id: str
    chat_kind: str
    user_id: str
    user_name: str
    series: str
    kind: str
    step: str
    payload: str
    due_at: int
    urgent: bool
    status: str
    claimed_by: str | None
    claim_until: int | None
    attempts: int
    late: bool
    sent_at: int | None
    last_error: str | None
    created_at: int


# ---- stores --------------------------------------------------------------------------------


class SessionStore(ABC):
    """One conversation's state document per (channel, chat, user)."""

    @abstractmethod
    def load(self, channel: str, chat_id: str, user_id: str) -> str | None:
        """The saved state JSON, or None for a new conversation."""

    @abstractmethod
    def save(self, channel: str, chat_id: str, user_id: str, state: str) -> None:
        """Write the state (insert or replace)."""


class FilingStore(ABC):
    """The filings a user collects, always scoped to (channel, user)."""

    @abstractmethod
    def create(self, channel: str, user_id: str, form_id: str, label: str) -> int:
        """A new empty filing; returns its id."""

    @abstractmethod
    def save(
        self,
        channel: str,
        user_id: str,
        filing_id: int,
        *,
        data: dict[str, Any],
        label: str,
        status: str,
    ) -> None:
        """Write a filing's answers, label and status."""

    @abstractmethod
    def get(self, channel: str, user_id: str, filing_id: int) -> FilingRow | None:
        """One of the user's filings, or None."""

    @abstractmethod
    def of_user(self, channel: str, user_id: str, form_id: str | None = None) -> list[FilingRow]:
        """The user's filings, oldest first."""


class ReminderStore(ABC):
    """Reminder rows, safe to use from several connections (threads, processes, workers).

    A row's life::

        pending --claim--> claimed --mark_sending--> sending --mark_sent--> sent
           ^                  |                         |  \\--mark_retry--> pending (later)
           |                  |                         \\----mark_failed--> failed
           +--release_expired-+-------------------------+   (lease ran out: the worker died)
        claimed --mark_skipped--> skipped (a later step of the same clock went out instead)
        pending/paused --close_series--> done | cancelled;  pending --pause_chat--> paused

    Claims must be atomic across connections: two claimers never get the same row.
    """

    @abstractmethod
    def schedule(
        self,
        rows: Sequence[NewReminder],
        *,
        channel: str,
        user_id: str,
        replace: Sequence[str] = (),
        close: Sequence[str] = (),
        now: int,
    ) -> list[int]:
        """Atomically: cancel open `replace` clocks, mark `close` ones done, insert `rows`."""

    @abstractmethod
    def get(self, reminder_id: int) -> StoredReminder | None:
        """One row by id."""

    @abstractmethod
    def open_for_user(
        self, channel: str, user_id: str, chat_id: str | None = None
    ) -> list[StoredReminder]:
        """The user's reminders still to come (optionally only those set in one chat)."""

    @abstractmethod
    def close_series(self, channel: str, user_id: str, series: str, status: str) -> int:
        """Mark every open row of one of the user's clocks `done` or `cancelled`."""

    @abstractmethod
    def snooze(self, reminder_id: int, due_at: int, now: int) -> int | None:
        """Move an open row to `due_at`, or re-arm a sent one as a new row; the row id or None."""

    @abstractmethod
    def claim_due(
        self,
        worker: str,
        now: int,
        lease_until: int,
        limit: int,
        *,
        channels: Sequence[str],
        urgent_only: bool = False,
    ) -> list[StoredReminder]:
        """Atomically take up to `limit` due rows of these channels for `worker`, oldest first."""

    @abstractmethod
    def claim_due_for_chat(
        self, channel: str, chat_id: str, worker: str, now: int, lease_until: int, limit: int
    ) -> list[StoredReminder]:
        """Atomically take the due rows of one chat (the terminal asks for its own)."""

    @abstractmethod
    def mark_sending(self, reminder_id: int, worker: str, lease_until: int) -> bool:
        """Record that the send starts; False if the row is no longer this worker's claim."""

    @abstractmethod
    def mark_sent(
        self,
        reminder_id: int,
        worker: str,
        now: int,
        *,
        late: bool,
        follow_up: NewReminder | None = None,
    ) -> bool:
        """Record the delivery (and insert the next occurrence of a recurring reminder)."""

    @abstractmethod
    def mark_skipped(self, reminder_ids: Sequence[int], worker: str) -> None:
        """Claimed rows made pointless by a later step of the same clock due at the same time."""

    @abstractmethod
    def mark_retry(self, reminder_id: int, worker: str, due_at: int, error: str) -> None:
        """A transient failure: back to pending at `due_at`, one attempt counted."""

    @abstractmethod
    def mark_failed(self, reminder_id: int, worker: str, error: str) -> None:
        """A permanent failure: recorded, never retried."""

    @abstractmethod
    def purge_finished(self, before: int) -> int:
        """Delete finished rows due before `before` (unix seconds); returns how many went."""

    @abstractmethod
    def pause_chat(self, channel: str, chat_id: str) -> int:
        """The chat blocked the bot: hold its pending rows until the user writes again."""

    @abstractmethod
    def resume_chat(self, channel: str, chat_id: str) -> int:
        """The user wrote in a paused chat: its held rows are pending again."""

    @abstractmethod
    def renew_claims(self, worker: str, lease_until: int) -> int:
        """Heartbeat: extend the lease on everything `worker` holds."""

    @abstractmethod
    def release_expired(self, now: int) -> int:
        """Give back rows whose worker stopped renewing its lease (it died)."""

    @abstractmethod
    def release_worker(self, worker: str) -> int:
        """Give back everything one worker id holds (its own earlier run, at start-up)."""

    @abstractmethod
    def count(self, status: str) -> int:
        """How many rows have this status (operations and tests)."""


class SeenUpdates(ABC):
    """Update ids a channel has handled, so a redelivered update is handled once."""

    @abstractmethod
    def claim(self, channel: str, update_id: str | int) -> bool:
        """Remember the id; False when it was already remembered within a day (a duplicate)."""

    @abstractmethod
    def prune(self) -> int:
        """Forget ids older than a day; returns how many were forgotten."""


@dataclass(frozen=True)
class WaitingUpdate:
    """An accepted update not yet handled: its id, its chat's queue and its JSON body."""

    update_id: str
    queue_key: str
    body: str
    # When a turn took it; it stays until its replies are sent (`InboxStore.sent`).
    handled_at: float | None = None
    # Which worker took it (bot.storage.workers), the replies it is to send (JSON) and how
    # many of them are out.
    taken_by: str | None = None
    replies: str | None = None
    replies_sent: int = 0


class InboxStore(ABC):
    """Updates accepted from a platform and not yet handled.

    A webhook answers 200 only after `accept` has committed, and the platform never resends
    an update it got 200 for: this table is then the only copy, until the turn that handles
    it takes it (`done`) in its own transaction and, once the replies are out, drops it (`sent`).
    """

    # The worker that takes updates through this store (bot.storage.workers); two stores
    # (connections) with one token act as one worker.
    worker: str

    @abstractmethod
    def accept(self, channel: str, update_id: str, queue_key: str, body: str) -> bool:
        """Claim the id and keep the update, in one transaction; False for a duplicate."""

    @abstractmethod
    def waiting(self, channel: str) -> list[WaitingUpdate]:
        """The channel's accepted updates no turn has taken yet, oldest first."""

    @abstractmethod
    def oldest(self, channel: str, queue_key: str) -> WaitingUpdate | None:
        """The chat's oldest kept update, taken or not, whichever worker accepted it."""

    @abstractmethod
    def stale_keys(self, channel: str, accepted_before: float) -> list[str]:
        """Chats with updates kept since before `accepted_before` (a dead worker's)."""

    @abstractmethod
    def done(self, channel: str, update_id: str) -> bool:
        """Take the update as handled; False when it was already taken (or is gone).

        In a turn's transaction this is the claim: of two workers handling one update,
        the second waits for the first's commit and then finds nothing to take."""

    @abstractmethod
    def keep_replies(self, channel: str, update_id: str, replies: str) -> None:
        """Keep the replies with the update, in the turn's transaction: if the worker dies
        before they are out, another worker sends them (`take_over`)."""

    @abstractmethod
    def sending(self, channel: str, update_id: str, sent: int) -> None:
        """The taker has sent `sent` of the replies and is still at it: a slow send is not a
        dead worker, and one that takes over sends only the rest."""

    @abstractmethod
    def take_over(self, channel: str, taken: WaitingUpdate) -> bool:
        """Take a dead worker's update, as it was read, to send its replies; False when
        another worker took it over first (or it is gone)."""

    @abstractmethod
    def sent(self, channel: str, update_id: str) -> None:
        """Its replies are out: drop the update, unless another worker took it (that one
        drops it once its own replies are out)."""

    @abstractmethod
    def drop(self, channel: str, update_id: str) -> None:
        """Drop the update whoever took it (it needs no reply, or its worker died)."""


class GroupRobotStore(ABC):
    """Group robots (webhooks posting into one group chat) that operators bound to chats.

    A URL carries the robot's key, a secret: it is stored sealed and never logged."""

    @abstractmethod
    def bind(self, channel: str, chat_id: str, url: str) -> bool:
        """Bind the URL to the chat (replacing an earlier one); True when the chat had none."""

    @abstractmethod
    def unbind(self, channel: str, chat_id: str) -> bool:
        """Remove the chat's robot; False when it had none."""

    @abstractmethod
    def all(self, channel: str) -> dict[str, str]:
        """Every bound chat of the channel -> its webhook URL, in chat id order."""


class Leadership(ABC):
    """One worker at a time holds it, until it lets go or dies (then another may take it).

    Kept outside any transaction, by the database session (or the file lock) of the holder,
    so a dead holder's hold ends with its connection, not after a lease."""

    @abstractmethod
    def try_acquire(self) -> bool:
        """Hold it if nobody does; True when this worker holds it now."""

    @abstractmethod
    def still_held(self) -> bool:
        """False once the hold is lost (its connection to the database broke)."""

    @abstractmethod
    def release(self) -> None:
        """Let go (another worker may then take it)."""


@dataclass(frozen=True)
class Pace:
    """One limit as a rate: `rate` sends a second on average, `burst` of them at once."""

    key: str
    rate: float
    burst: int = 1


class SendBudget(ABC):
    """Send limits shared by every worker of one bot, kept in the database.

    Each send books the next slot under each of its limits (a chat's, its group's, the
    bot's), so workers queue behind one another as one sender's messages would."""

    @abstractmethod
    def reserve(self, paces: list[Pace]) -> float:
        """Book one send under every pace; the seconds to wait before it may go."""

    @abstractmethod
    def hold(self, pace: Pace, seconds: float) -> None:
        """The platform said to wait `seconds` (a 429): nobody sends under `pace` till then."""


class Storage(ABC):
    """One database: its stores, a transaction spanning them, forgetting a user, closing."""

    @property
    @abstractmethod
    def sessions(self) -> SessionStore:
        """Conversation states."""

    @property
    @abstractmethod
    def filings(self) -> FilingStore:
        """Filings users collect."""

    @property
    @abstractmethod
    def reminders(self) -> ReminderStore:
        """Reminder rows."""

    @property
    @abstractmethod
    def seen_updates(self) -> SeenUpdates:
        """Handled update ids."""

    @property
    @abstractmethod
    def inbox(self) -> InboxStore:
        """Accepted updates not yet handled."""

    @property
    @abstractmethod
    def group_robots(self) -> GroupRobotStore:
        """Group robots bound to group chats."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Everything inside commits together or not at all; nested blocks join the outer one."""

    @abstractmethod
    def reading(self) -> AbstractContextManager[None]:
        """A transaction that is always rolled back; StorageUnavailable at its end if
        anything inside wrote (for answering while the database takes no writes)."""

    def send_budget(self) -> SendBudget | None:
        """The send limits shared across workers (None: one process sends, it keeps them)."""
        return None

    @abstractmethod
    def leadership(self, name: str) -> Leadership:
        """The election for something only one worker may do at a time (`name`)."""

    @abstractmethod
    def forget_user(self, channel: str, user_id: str) -> int:
        """Delete every row about the user on that channel, atomically; returns how many."""

    @abstractmethod
    def scrub(self) -> None:
        """After a committed delete: make the deleted values unreadable in the files too."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> Storage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Backend name (Settings.storage) -> the module whose `open_storage(settings)` builds it.
# Imported by name so that only the chosen backend's driver is loaded.
BACKENDS = {"sqlite": "bot.storage.sqlite", "postgres": "bot.storage.postgres"}


def open_storage(settings: Settings) -> Storage:
    """Open (creating and migrating if needed) the database the settings name."""
    module = importlib.import_module(BACKENDS[settings.storage])
    storage: Storage = module.open_storage(settings)
    return storage


@dataclass(frozen=True)
class MigrationStatus:
    """Which schema migrations a database has had and which are still to run."""

    database: str  # where it is, without a password
    applied: list[str]
    pending: list[str]


def migration_status(settings: Settings) -> MigrationStatus:
    """The migrations of the database the settings name, read without changing anything."""
    module = importlib.import_module(BACKENDS[settings.storage])
    status: MigrationStatus = module.migration_status(settings)
    return status


def migrate(settings: Settings) -> list[str]:
    """Apply the pending migrations (what every start does too); returns their names."""
    module = importlib.import_module(BACKENDS[settings.storage])
    applied: list[str] = module.migrate(settings)
    return applied
