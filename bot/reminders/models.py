"""Reminder kinds, rows, events and the time helpers every reminder module shares."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from bot.messages import ChatKind, ChatRef, Incoming

# Everything shown to a user is mainland time; everything stored is UTC.
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Day-based reminders go out at this local hour: inside office hours, outside quiet hours.
DAY_REMINDER_TIME = time(10, 0)


def _must_be_aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("datetime must carry a time zone")
    return value.astimezone(UTC)


AwareDatetime = Annotated[datetime, AfterValidator(_must_be_aware)]
PayloadValue = str | int
Payload = dict[str, PayloadValue]


class ReminderKind(StrEnum):
    """Which clock a reminder belongs to; its texts are keyed by this value."""

    SMS_WINDOW = "sms_window"
    FIRST_REVIEW_WAIT = "first_review_wait"
    BUREAU_WAIT = "bureau_wait"
    CHANGE_PLANNED = "change_planned"
    CHANGE_HAPPENED = "change_happened"
    POLICE_FILING = "police_filing"
    POLICE_DISPLAY = "police_display"
    IDLE_ORDER = "idle_order"
    SELF_CHECK = "self_check"
    SERVER_EXPIRY = "server_expiry"
    DOMAIN_EXPIRY = "domain_expiry"
    PERSONAL = "personal"  # 「明天上午10点提醒我……」: a time and a task of the user's own


class Status(StrEnum):
    """A row's life: pending -> claimed -> sending -> sent (or failed / cancelled / done)."""

    PENDING = "pending"
    CLAIMED = "claimed"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    CANCELLED = "cancelled"
    DONE = "done"
    # Due together with a later step of its clock (after downtime): only the later one is sent.
    SKIPPED = "skipped"
    # The chat blocked the bot: kept, and resumed when the user writes again.
    PAUSED = "paused"


class ChangeWhat(StrEnum):
    """What changed in a filing (the issue's list)."""

    SUBJECT = "subject"
    SITE_NAME = "site_name"
    DOMAIN = "domain"
    IP = "ip"
    PROVIDER = "provider"


class ExpiryWhat(StrEnum):
    """What can lapse and cost the filing."""

    SERVER = "server"
    DOMAIN = "domain"


class Owner(BaseModel):
    """Who set a reminder and the chat it goes back to."""

    model_config = ConfigDict(frozen=True)

    chat: ChatRef
    user_id: str
    user_name: str = ""

    @classmethod
    def of(cls, msg: Incoming) -> Owner:
        """The owner of reminders set by this message."""
        return cls(chat=msg.chat, user_id=msg.user_id, user_name=msg.user_name)

    @property
    def in_group(self) -> bool:
        """Whether reminders must mention the user."""
        return self.chat.kind is ChatKind.GROUP


class PlannedReminder(BaseModel):
    """One reminder the planner wants sent: its clock, step, due time and text fields."""

    model_config = ConfigDict(frozen=True)

    kind: ReminderKind
    step: str
    due_at: AwareDatetime
    # Urgent reminders go out during quiet hours (the SMS window closing).
    urgent: bool = False
    payload: Payload = Field(default_factory=dict)


class ReminderRow(BaseModel):
    """A stored reminder (one row of the `reminders` table)."""

    id: int
    owner: Owner
    series: str
    kind: ReminderKind
    step: str
    payload: Payload
    due_at: AwareDatetime
    urgent: bool
    status: Status
    attempts: int = 0
    late: bool = False
    claimed_by: str | None = None


# --- events the user reports -------------------------------------------------------------


class SmsReceived(BaseModel):
    """The bureau's verification SMS arrived (facts 11)."""

    type: Literal["sms_received"] = "sms_received"
    at: AwareDatetime


class SmsVerified(BaseModel):
    """The user finished the SMS verification."""

    type: Literal["sms_verified"] = "sms_verified"
    at: AwareDatetime


class Submitted(BaseModel):
    """The order went to the provider's first review (初审)."""

    type: Literal["submitted"] = "submitted"
    at: AwareDatetime


class FirstReviewPassed(BaseModel):
    """The first review passed and the provider sent the order to the bureau."""

    type: Literal["first_review_passed"] = "first_review_passed"
    at: AwareDatetime


class Approved(BaseModel):
    """The filing was approved with this (already validated) number."""

    type: Literal["approved"] = "approved"
    at: AwareDatetime
    number: str


class Changed(BaseModel):
    """A change of filed information, planned (day in the future) or already made."""

    type: Literal["changed"] = "changed"
    what: ChangeWhat
    day: date


class SiteLive(BaseModel):
    """The site went live: the police-filing clock starts (facts 54)."""

    type: Literal["site_live"] = "site_live"
    day: date


class PoliceApproved(BaseModel):
    """The police filing (公安联网备案) was approved (facts 56)."""

    type: Literal["police_approved"] = "police_approved"
    day: date


class Expiry(BaseModel):
    """A server or domain expires on this day (facts 26)."""

    type: Literal["expiry"] = "expiry"
    what: ExpiryWhat
    day: date


class OrderReturned(BaseModel):
    """The provider returned the order (rejected, or the SMS window missed)."""

    type: Literal["order_returned"] = "order_returned"
    at: AwareDatetime


class ReminderAsked(BaseModel):
    """The user asked for a reminder of their own: a future moment and what to do then."""

    type: Literal["reminder_asked"] = "reminder_asked"
    due: AwareDatetime
    task: str = Field(max_length=200)
    english: bool = False


Event = (
    SmsReceived
    | SmsVerified
    | Submitted
    | FirstReviewPassed
    | Approved
    | Changed
    | SiteLive
    | PoliceApproved
    | Expiry
    | OrderReturned
    | ReminderAsked
)


# --- time helpers ------------------------------------------------------------------------


def to_unix(moment: datetime) -> int:
    """Aware datetime -> integer unix seconds (how due times are stored)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: every time in the reminder code is aware")
    return int(moment.timestamp())


def from_unix(seconds: int) -> datetime:
    """Integer unix seconds -> aware UTC datetime."""
    return datetime.fromtimestamp(seconds, UTC)


def local_day(moment: datetime) -> date:
    """The calendar day in Shanghai of an aware moment."""
    return moment.astimezone(SHANGHAI).date()


def at_local(day: date, clock: time = DAY_REMINDER_TIME) -> datetime:
    """A Shanghai wall-clock time on `day`, as an aware UTC datetime."""
    return datetime.combine(day, clock, tzinfo=SHANGHAI).astimezone(UTC)


def show_time(moment: datetime) -> str:
    """2026年11月26日 02:00 (Shanghai time; the caller says 北京时间 once)."""
    local = moment.astimezone(SHANGHAI)
    return f"{local.year}年{local.month}月{local.day}日 {local:%H:%M}"


def show_day(day: date) -> str:
    """2026年11月26日."""
    return f"{day.year}年{day.month}月{day.day}日"


class QuietHours(BaseModel):
    """Hours (Shanghai time) when non-urgent reminders wait: 23:00-08:00 by default."""

    model_config = ConfigDict(frozen=True)

    start: int = Field(default=23, ge=0, le=23)
    end: int = Field(default=8, ge=0, le=23)

    def is_quiet(self, moment: datetime) -> bool:
        """Whether `moment` falls inside the quiet hours."""
        hour = moment.astimezone(SHANGHAI).hour
        if self.start > self.end:  # the window wraps past midnight
            return hour >= self.start or hour < self.end
        return self.start <= hour < self.end

    def release(self, moment: datetime) -> datetime:
        """When a non-urgent reminder due at `moment` may go out (itself outside quiet hours)."""
        if not self.is_quiet(moment):
            return moment
        local = moment.astimezone(SHANGHAI)
        day = local.date()
        if self.start > self.end and local.hour >= self.start:
            day += timedelta(days=1)
        return datetime.combine(day, time(self.end), tzinfo=SHANGHAI).astimezone(UTC)


QUIET_HOURS = QuietHours()
