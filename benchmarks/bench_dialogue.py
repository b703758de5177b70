"""Per-turn latency inside the filing form, including the SQLite write (target p99 <= 5 ms).

Run: .venv/bin/python benchmarks/bench_dialogue.py
Each turn goes through Engine.handle on a real SQLite file in WAL mode, as in the chat.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.messages import ChatKind, ChatRef, Incoming  # noqa: E402

ANSWERS = [
    "/filing", "个人", "中国大陆居民身份证", "广东", "中国大陆", "腾讯云", "1年", "200天",
    "1.2.3.4", "张三", "440305199001010018", "13800138000", "zhangsan@example.com",
    "example.com", "一致", "超过3天", "张三的读书笔记", "个人博客或学习笔记", "都不涉及", "都在",
    "从没备过案", "确认",
]  # fmt: skip


def main(users: int = 50) -> None:
    """Fill the form for `users` users and time every turn."""
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Settings(_env_file=None, db_path=Path(tmp) / "bench.db"))  # type: ignore[call-arg]
        samples: list[float] = []
        report_turns: list[float] = []
        for n in range(users):
            chat = ChatRef(channel="bench", chat_id=f"u{n}", kind=ChatKind.PRIVATE)
            for text in ANSWERS:
                msg = Incoming(chat=chat, user_id=f"u{n}", text=text)
                start = time.perf_counter_ns()
                app.engine.handle(msg)
                elapsed = (time.perf_counter_ns() - start) / 1e6
                (report_turns if text == "确认" else samples).append(elapsed)
        samples.sort()
        p99 = samples[int(len(samples) * 0.99) - 1]
        print(
            f"form turns: {len(samples)} over {users} users;"
            f" p50 {statistics.median(samples):.2f} ms, p99 {p99:.2f} ms,"
            f" max {samples[-1]:.2f} ms (each includes the SQLite commit)"
        )
        print(
            f"final confirm turn (pre-check report, working-day estimate): "
            f"median {statistics.median(report_turns):.2f} ms, max {max(report_turns):.2f} ms"
        )
        app.storage.close()


if __name__ == "__main__":
    main()
