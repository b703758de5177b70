"""FAQ speed: in-process answer latency over the eval set, and cold start of `beian-bot ask`.

Run: .venv/bin/python benchmarks/bench_faq.py
Targets (issue 2): p99 <= 1 ms in process; cold start <= 0.5 s and peak RSS <= 80 MB.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.app import build_retriever  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.faq.evaluation import load_eval_set, load_real_questions  # noqa: E402


def in_process_latency(rounds: int = 5) -> None:
    """Time `Retriever.match` per question, several rounds, one core: the team's short
    questions and the real ones (long messages with background, English) apart."""
    retriever = build_retriever(Settings(_env_file=None))  # type: ignore[call-arg]
    data = load_eval_set(ROOT / "tests" / "data" / "faq_eval.yaml")
    sets = {"short (regression set)": [q.q for q in data.in_scope] + data.out_of_scope}
    real = ROOT / "tests" / "data" / "real_questions"
    if real.is_dir():
        sets["real questions"] = [q.q for q in load_real_questions(real)]
    for name, questions in sets.items():
        for question in questions:  # warm-up
            retriever.match(question)
        samples = []
        for _ in range(rounds):
            for question in questions:
                start = time.perf_counter_ns()
                retriever.match(question)
                samples.append((time.perf_counter_ns() - start) / 1e6)
        samples.sort()
        p50 = statistics.median(samples)
        p99 = samples[int(len(samples) * 0.99) - 1]
        print(
            f"in-process answer latency, {name}, {len(samples)} answers: "
            f"p50 {p50:.3f} ms, p99 {p99:.3f} ms, max {samples[-1]:.3f} ms"
        )


_MEASURE = """
import os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)
_, status, usage = os.wait4(child.pid, 0)
assert os.waitstatus_to_exitcode(status) == 0
print(time.perf_counter() - start, usage.ru_maxrss)
"""


def cold_start(runs: int = 5) -> None:
    """Wall time and peak RSS of `beian-bot ask` in a new process, caches already warm."""
    command = [sys.executable, "-m", "bot", "ask", "备案要多久"]
    env = {**os.environ, "BEIAN_LOG_LEVEL": "WARNING"}
    subprocess.run(command, check=True, capture_output=True, env=env)  # warm the caches
    times, peaks = [], []
    for _ in range(runs):
        # A bare interpreter launches each run: a child forked from this process would count
        # this process's pages in its peak RSS until it execs.
        out = subprocess.run(
            [sys.executable, "-c", _MEASURE, *command],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        times.append(float(out[0]))
        peaks.append(int(out[1]))  # KiB on Linux: that one process's peak
    print(
        f"cold start of `beian-bot ask` over {runs} runs: median {statistics.median(times):.3f} s,"
        f" best {min(times):.3f} s; peak RSS {max(peaks) / 1024:.1f} MB"
    )


if __name__ == "__main__":
    cold_start()
    in_process_latency()
