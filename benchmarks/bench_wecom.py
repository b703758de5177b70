"""WeCom speed against the local fake: callback -> first stream frame, -> finish; reconnect.

Run: .venv/bin/python benchmarks/bench_wecom.py
Measures (issue 12): time from a pushed `aibot_msg_callback` to the first and to the finishing
`aibot_respond_msg` frame, p50/p99 over the FAQ questions; and, after the service drops the
connection, the time until the bot is subscribed again (the first backoff is 0.5-1 s).
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import App, build_app, build_wecom_channel  # noqa: E402
from bot.config import Settings, WecomSettings  # noqa: E402
from tests.channels.wecom_fake import BOT_ID, SECRET, FakeWecom, text_frame  # noqa: E402

QUESTIONS = [
    "备案要多久",
    "个人备案需要什么材料",
    "备案期间要解析吗",
    "备案号怎么挂",
    "换服务器要重新备案吗",
]


def _pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(rounds: int = 20) -> None:
    fake = FakeWecom()
    await fake.start()
    folder = Path(tempfile.mkdtemp())
    wecom = WecomSettings(bot_id=BOT_ID, secret=SECRET, ws_url=fake.url)  # type: ignore[arg-type]
    settings = Settings(_env_file=None, db_path=folder / "b.db", wecom=wecom)  # type: ignore[call-arg]
    app: App = build_app(settings)
    bot = build_wecom_channel(app)
    stop = asyncio.Event()
    task = asyncio.create_task(bot.run(stop))
    await bot.connection.subscribed.wait()
    first, finished = [], []
    for i in range(rounds * len(QUESTIONS)):
        frame = text_frame(QUESTIONS[i % len(QUESTIONS)])
        req_id = frame["headers"]["req_id"]
        start = time.perf_counter()
        await fake.push(frame)
        seen_first = None
        while True:
            streams = [
                f["body"]["stream"]
                for f in fake.received
                if f.get("cmd") == "aibot_respond_msg" and f["headers"]["req_id"] == req_id
            ]
            if streams and seen_first is None:
                seen_first = time.perf_counter() - start
            if streams and streams[-1]["finish"] and bot.queues.pending == 0:
                break
            await asyncio.sleep(0.0005)
        first.append(seen_first or 0.0)
        finished.append(time.perf_counter() - start)
    for name, samples in (("callback -> first frame", first), ("callback -> finish", finished)):
        print(
            f"{name}: p50 {statistics.median(samples) * 1000:.1f} ms, "
            f"p99 {_pct(samples, 0.99) * 1000:.1f} ms (n={len(samples)})"
        )
    reconnects = []
    for _ in range(5):
        before = bot.connection.connects
        start = time.perf_counter()
        await fake.drop()
        while bot.connection.connects == before or not bot.is_alive():
            await asyncio.sleep(0.005)
        reconnects.append(time.perf_counter() - start)
    print(
        f"reconnect after a drop: median {statistics.median(reconnects):.2f} s, "
        f"max {max(reconnects):.2f} s (n={len(reconnects)})"
    )
    stop.set()
    await task
    await fake.close()
    app.storage.close()


if __name__ == "__main__":
    asyncio.run(main())
