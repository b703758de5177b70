"""RateLimitedOutbox on virtual time: Telegram's limits, 429 holds per chat, back-off."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import pytest

from bot.channels.delivery import RateLimitedOutbox
from bot.channels.telegram.outbox import TELEGRAM_LIMITS
from bot.messages import ChatKind, ChatRef, Outgoing, SendError
from tests.reminders.virtual_time import VirtualTime


def message(chat_id: str, n: int = 0, *, group: bool = False) -> Outgoing:
    kind = ChatKind.GROUP if group else ChatKind.PRIVATE
    return Outgoing(chat=ChatRef(channel="tg", chat_id=chat_id, kind=kind), text=str(n))


@dataclass
class TimedSender:
    """The inner Outbox: records (time, chat, text); can fail by a script per text."""

    time: VirtualTime
    log: list[tuple[float, str, str]] = field(default_factory=list)
    script: dict[str, list[SendError | OSError]] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)

    async def send(self, message: Outgoing) -> None:
        self.calls[message.text] += 1
        failures = self.script.get(message.text)
        if failures:
            raise failures.pop(0)
        self.log.append((self.time.t, message.chat.chat_id, message.text))


def limited(sender: TimedSender, **kwargs: float) -> RateLimitedOutbox:
    return RateLimitedOutbox(
        sender,
        TELEGRAM_LIMITS,
        clock=sender.time.clock,
        sleep=sender.time.sleep,
        **kwargs,  # type: ignore[arg-type]
    )


async def send_all(outbox: RateLimitedOutbox, messages: list[Outgoing]) -> None:
    import asyncio

    await asyncio.gather(*(outbox.send(m) for m in messages))


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_one_chat_gets_a_short_burst_then_one_message_a_second() -> None:
    vt = VirtualTime()
    sender = TimedSender(vt)
    await vt.run(send_all(limited(sender), [message("a", i) for i in range(6)]))
    # an answer plus the next question go out together; then the pace is 1/s
    assert [t for t, _, _ in sender.log] == [0, 0, 0, 1, 2, 3]
    assert [text for _, _, text in sender.log] == [str(i) for i in range(6)]  # order kept


async def test_a_group_gets_at_most_20_a_minute() -> None:
    vt = VirtualTime()
    sender = TimedSender(vt)
    await vt.run(send_all(limited(sender), [message("g", i, group=True) for i in range(45)]))
    times = [t for t, _, _ in sender.log]
    assert len(times) == 45
    assert max_in_window(times, 60.0) <= 20
    assert max_in_window(times, 1.0) <= 3  # a short burst at most


async def test_all_chats_together_at_most_30_a_second() -> None:
    vt = VirtualTime()
    sender = TimedSender(vt)
    await vt.run(send_all(limited(sender), [message(f"c{i}", i) for i in range(300)]))
    times = [t for t, _, _ in sender.log]
    assert len(times) == 300 and max_in_window(times, 1.0) <= 30
    assert max(times) == pytest.approx(9.0)  # 300 at 30/s: the last one starts at 9 s
    assert [text for _, _, text in sender.log] == [str(i) for i in range(300)]


async def test_retry_after_holds_only_the_chat_concerned() -> None:
    vt = VirtualTime()
    sender = TimedSender(vt, script={"1": [SendError("429", retry_after=7)]})
    outbox = limited(sender)
    await vt.run(send_all(outbox, [message("a", 1), message("b", 2)]))
    sent = {chat: t for t, chat, _ in sender.log}
    assert sent["b"] == 0  # the other chat did not wait
    assert sent["a"] == 7  # retried when the platform said
    assert outbox.stats.retried == 1 and outbox.stats.sent == 2


async def test_transient_failures_back_off_then_succeed() -> None:
    vt = VirtualTime()
    network = SendError("timeout")
    sender = TimedSender(vt, script={"0": [network, OSError("reset")]})
    outbox = limited(sender, backoff=1.0)
    await vt.run(outbox.send(message("a", 0)))
    assert sender.log == [(3.0, "a", "0")]  # waited 1 s, then 2 s
    assert sender.calls["0"] == 3


async def test_permanent_failure_is_raised_at_once_and_counted() -> None:
    vt = VirtualTime()
    sender = TimedSender(vt, script={"0": [SendError("blocked", permanent=True)]})
    outbox = limited(sender)
    with pytest.raises(SendError) as raised:
        await vt.run(outbox.send(message("a", 0)))
    assert raised.value.permanent and sender.calls["0"] == 1 and outbox.stats.failed == 1


async def test_giving_up_after_max_attempts_raises_a_transient_error() -> None:
    vt = VirtualTime()
    sender = TimedSender(vt, script={"0": [SendError("down") for _ in range(10)]})
    outbox = limited(sender, max_attempts=3)
    with pytest.raises(SendError) as raised:
        await vt.run(outbox.send(message("a", 0)))
    assert not raised.value.permanent and sender.calls["0"] == 3


async def test_idle_chats_are_forgotten_so_memory_stays_bounded() -> None:
    vt = VirtualTime()
    sender = TimedSender(vt)
    outbox = limited(sender)
    await vt.run(send_all(outbox, [message(f"c{i}", i) for i in range(2500)]))
    vt.t += 10
    await vt.run(outbox.send(message("late", 0)))
    await vt.run(send_all(outbox, [message(f"d{i}", i) for i in range(2100)]))
    # 4,601 chats were served; the idle ones of the first wave were dropped.
    assert len(outbox._chats) <= 2101
