"""docker/compose.yaml, docker/Caddyfile and docker/.env.example against the code: CI has no
Docker engine, so what can be checked without one is checked here. Every flag the workers
run with is parsed by the real CLI parser, every BEIAN_ name is a real setting, and the
ports, paths and service names the three files share agree."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import BaseModel

from bot.channels.telegram.webhook import DEFAULT_PATH
from bot.cli import _parser
from bot.config import Settings

DOCKER = Path(__file__).resolve().parent.parent / "docker"
WORKERS = ["worker-1", "worker-2", "worker-3"]


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((DOCKER / "compose.yaml").read_text())
    return data


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def _worker_argv(service: dict[str, Any]) -> list[str]:
    """The `beian-bot ...` arguments of the worker's sh script, shell expansions as text."""
    assert service["entrypoint"] == ["sh", "-c"]
    [script] = service["command"]
    [line] = [ln for ln in script.splitlines() if ln.startswith("exec beian-bot ")]
    # `$$` is compose's escape for the shell's `$`: the expansion stands for a URL.
    line = re.sub(r'"\$\$\{WEBHOOK_URL:-[^"]*"', "https://bot.example.com/telegram", line)
    assert "$" not in line, line
    return shlex.split(line)[2:]


def _is_setting(name: str) -> bool:
    """Whether BEIAN_<NAME> (nested with __) is a field Settings reads."""
    parts = name.removeprefix("BEIAN_").lower().split("__")
    model: type[BaseModel] = Settings
    for n, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        if n < len(parts) - 1:
            nested = field.annotation
            if not (isinstance(nested, type) and issubclass(nested, BaseModel)):
                return False
            model = nested
    return True


def test_the_single_machine_service_stays_the_default(compose: dict[str, Any]) -> None:
    services = _services(compose)
    bot = services["bot"]
    assert "profiles" not in bot and bot["command"] == ["telegram", "--stack", "ptb"]
    multi = {name for name, s in services.items() if "multi" in s.get("profiles", [])}
    assert multi == {"postgres", "lb", *WORKERS}
    assert set(services) == {"bot", *multi}


def test_every_worker_runs_a_webhook_the_real_parser_accepts(compose: dict[str, Any]) -> None:
    services = _services(compose)
    hosts = set()
    for name in WORKERS:
        worker = services[name]
        args = _parser().parse_args(_worker_argv(worker))
        assert args.command == "telegram" and args.webhook and args.host == "0.0.0.0"
        # The health check asks the port the worker listens on, at the path it serves.
        probe = " ".join(worker["healthcheck"]["test"])
        assert f"http://127.0.0.1:{args.port}/healthz" in probe
        assert worker["depends_on"] == {"postgres": {"condition": "service_healthy"}}
        assert worker["restart"] == "unless-stopped"
        hosts.add(worker["hostname"])
        script = worker["command"][0]
        # A missing secret would give each worker its own random one: stopped instead.
        assert "$${BEIAN_TELEGRAM__WEBHOOK_SECRET:?" in script
    assert len(hosts) == 3


def test_the_workers_database_url_names_the_postgres_service(compose: dict[str, Any]) -> None:
    services = _services(compose)
    postgres = services["postgres"]
    assert postgres["image"].startswith("postgres:")
    assert "pg_isready" in postgres["healthcheck"]["test"]
    env = postgres["environment"]
    for name in WORKERS:
        url = services[name]["environment"]["BEIAN_DATABASE_URL"]
        parts = urlsplit(url.replace("${POSTGRES_PASSWORD:-}", "pw"))
        assert (parts.scheme, parts.username, parts.hostname) == (
            "postgresql",
            env["POSTGRES_USER"],
            "postgres",
        )
        assert parts.path == f"/{env['POSTGRES_DB']}"
        settings = Settings(_env_file=None, database_url=parts.geturl())
        assert settings.storage == "postgres"


def test_every_beian_name_is_a_real_setting(compose: dict[str, Any]) -> None:
    texts = [(DOCKER / "compose.yaml").read_text(), (DOCKER / ".env.example").read_text()]
    names = {name for text in texts for name in re.findall(r"\bBEIAN_[A-Z0-9_]+", text)}
    assert {"BEIAN_DATABASE_URL", "BEIAN_DATA_KEY", "BEIAN_TELEGRAM__WEBHOOK_SECRET"} <= names
    assert sorted(n for n in names if not _is_setting(n)) == []
    assert not _is_setting("BEIAN_TELEGRAM__NO_SUCH") and not _is_setting("BEIAN_NOPE")


def test_caddy_balances_the_webhook_path_over_the_three_workers(
    compose: dict[str, Any],
) -> None:
    caddyfile = (DOCKER / "Caddyfile").read_text()
    services = _services(compose)
    port = _parser().parse_args(_worker_argv(services["worker-1"])).port
    [upstreams] = re.findall(r"reverse_proxy ([^{]+)\{", caddyfile)
    assert upstreams.split() == [f"{name}:{port}" for name in WORKERS]
    assert f"handle {DEFAULT_PATH} {{" in caddyfile and "health_uri /healthz" in caddyfile
    lb = services["lb"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in lb["volumes"]
    assert set(lb["depends_on"]) == set(WORKERS)
    assert "{$PUBLIC_HOST}" in caddyfile and "PUBLIC_HOST" in lb["environment"]
