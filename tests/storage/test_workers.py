"""Whether the process that took a kept update is known to be gone (bot.storage.workers)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from bot.storage.workers import gone_here, worker_token


def _token(pid: int, host: str | None = None) -> str:
    return f"{host or socket.gethostname()}/{pid}/0000"


def test_a_process_that_exited_is_gone_and_a_running_one_is_not() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        assert gone_here(_token(child.pid)) is False
    finally:
        child.kill()
        child.wait()
    assert gone_here(_token(child.pid)) is True


def test_this_pid_under_another_token_is_a_predecessor_and_its_own_token_is_alive() -> None:
    """A restarted container runs under the pid its predecessor had; every storage this
    process opened has a token of its own, all of them alive."""
    assert gone_here(_token(os.getpid())) is True
    assert gone_here(worker_token()) is False


def test_another_host_or_no_token_is_never_known_gone() -> None:
    """Across machines only a silence tells, so the caller waits it out."""
    assert gone_here(_token(2**22 + 7, host="some-other-host")) is False
    assert gone_here(None) is False
    assert gone_here("an-old-random-token") is False
