"""Several `beian-bot wecom` workers on one database: WeCom allows one long connection per
bot (a second one kicks the first), so exactly one holds it and another takes over when it
dies. Real processes against the local fake of the WeCom service."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bot.channels.holder import POLL_SECONDS
from tests.channels.wecom_fake import BOT_ID, SECRET, FakeWecom, text_frame
from tests.conftest import CACHE_DIR, until
from tests.storage.conftest import pg_server, pg_url  # noqa: F401  (fixtures)

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="servers run as on CI")
# A takeover must come within this; the election itself takes about POLL_SECONDS.
TAKEOVER_LIMIT = 30.0


@pytest.fixture
def env(
    request: pytest.FixtureRequest, tmp_path: Path, fake: FakeWecom, database: str
) -> dict[str, str]:
    values = {
        **os.environ,
        "BEIAN_WECOM__BOT_ID": BOT_ID,
        "BEIAN_WECOM__SECRET": SECRET,
        "BEIAN_WECOM__WS_URL": fake.url,
        "BEIAN_DB_PATH": str(tmp_path / "bot.db"),
        "BEIAN_CACHE_DIR": str(CACHE_DIR),
    }
    if database == "postgresql":
        values["BEIAN_DATABASE_URL"] = request.getfixturevalue("pg_url")
        values["BEIAN_DATA_KEY"] = Fernet.generate_key().decode()
    return values


async def _worker(env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "wecom", env=env, cwd=env["BEIAN_DB_PATH"].rsplit("/", 1)[0],
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def _answered(fake: FakeWecom, msgid: str) -> list[str]:
    frame = text_frame("备案要多久", msgid=msgid)
    await fake.push(frame)
    req_id = frame["headers"]["req_id"]
    await until(lambda: _replies(fake, req_id), timeout=30)
    await asyncio.sleep(0.5)  # a second connection would have answered too by now
    return _replies(fake, req_id)


def _replies(fake: FakeWecom, req_id: str) -> list[str]:
    return [
        f["body"]["stream"]["content"]
        for f in fake.received
        if f.get("cmd") == "aibot_respond_msg" and f["headers"]["req_id"] == req_id
    ]


# A stop releases SQLite's flock just as a kill does: the kill covers it there.
@pytest.mark.parametrize(
    ("database", "how"),
    [("sqlite", signal.SIGKILL), ("postgresql", signal.SIGKILL), ("postgresql", signal.SIGTERM)],
    ids=["sqlite-killed", "postgresql-killed", "postgresql-stopped"],
)
async def test_one_worker_holds_the_connection_and_another_takes_over_when_it_ends(
    env: dict[str, str], fake: FakeWecom, how: signal.Signals, database: str
) -> None:
    holder = await _worker(env)
    workers = [holder]
    try:
        await until(lambda: fake.subscriptions == 1, timeout=60)
        workers.append(await _worker(env))
        workers.append(await _worker(env))
        await asyncio.sleep(POLL_SECONDS + 2)  # the others started and stand by
        assert fake.subscriptions == 1 and len(fake.clients) == 1  # nobody was kicked
        assert len(await _answered(fake, "before")) == 1
        holder.send_signal(how)
        await holder.wait()
        await until(lambda: fake.subscriptions == 2, timeout=TAKEOVER_LIMIT)
        await asyncio.sleep(2 * POLL_SECONDS)
        assert fake.subscriptions == 2 and len(fake.clients) == 1  # one took over, once
        [answer] = await _answered(fake, "after")
        assert "工作日" in answer
    finally:
        for worker in workers:
            if worker.returncode is None:
                worker.send_signal(signal.SIGTERM)
        for worker in workers:
            await asyncio.wait_for(worker.wait(), timeout=30)
