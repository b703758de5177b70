"""Which process took a kept update, and whether that process is known to be gone.

A worker that took an update and died before its replies were out leaves them in the inbox;
another worker sends them. Waiting out a silence is the only test across machines, but on
the same machine the answer is exact and immediate: the process is gone when its pid is not
running, or is this process's own pid under a token this process never made (a container
restarted under the same pid). That makes a restart send what its predecessor left at once.
"""

from __future__ import annotations

import os
import secrets
import socket

# Tokens this process made (one per storage it opened): all alive, whatever the pid says.
_MINE: set[str] = set()


def worker_token() -> str:
    """A new token for this process: host, pid and a random part (pids are reused)."""
    token = f"{socket.gethostname()}/{os.getpid()}/{secrets.token_hex(4)}"
    _MINE.add(token)
    return token


def gone_here(token: str | None) -> bool:
    """True when `token` names a process on this host that is no longer running."""
    if token is None or token in _MINE:
        return False
    host, _, rest = token.partition("/")
    pid_text, _, _ = rest.partition("/")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # running, as another user
        return False
    return False
