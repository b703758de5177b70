"""Run the emulator standalone: ``python -m tests.emulator --port 8081``."""

from __future__ import annotations

import argparse
import asyncio
import contextlib

from .client import DEFAULT_TOKEN
from .server import BotApiEmulator


async def _serve(host: str, port: int, token: str) -> None:
    async with BotApiEmulator(host=host, port=port, token=token) as emu:
        print(f"Bot API emulator on {emu.base_url} (token {emu.token})", flush=True)
        await asyncio.Event().wait()


def main() -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    args = parser.parse_args()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(args.host, args.port, args.token))


if __name__ == "__main__":
    main()
