#!/usr/bin/env bash
# The Dockerfile's install steps, outside Docker (CI has no Docker engine): build the wheel
# from the same files the image copies, install it into a fresh venv, then run the installed
# command from a directory without the source tree, the way the container does.
set -euo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

mkdir "$work/src"
cp -r pyproject.toml README.md bot knowledge conversations "$work/src/"
python3 -m venv "$work/venv"
"$work/venv/bin/pip" wheel -q --no-cache-dir --no-deps --wheel-dir "$work/dist" "$work/src"
"$work/venv/bin/pip" install -q "$work"/dist/*.whl

mkdir "$work/data"
cd "$work/data"
export BEIAN_DB_PATH="$work/data/beian-bot.db" BEIAN_CACHE_DIR="$work/data/cache"
bin="$work/venv/bin"
"$bin/beian-bot" version
"$bin/beian-bot" ask "备案要多久" | grep -q "来源：" || { echo "wheel lacks knowledge/" >&2; exit 1; }
status=0
BEIAN_TELEGRAM__TOKEN= "$bin/beian-bot" telegram 2> "$work/err" || status=$?
if [ "$status" -ne 2 ] || ! grep -q BEIAN_TELEGRAM__TOKEN "$work/err"; then
    echo "telegram without a token: want exit 2 naming the variable" >&2
    exit 1
fi
"$bin/python" -c "import bot.channels.telegram.stack_ptb, bot.channels.telegram.stack_aiogram"
# The image's HEALTHCHECK command, against a fresh and a stale heartbeat.
check="import os, sys, time; sys.exit(time.time() - os.path.getmtime('$work/data/telegram.heartbeat') > 120)"
touch "$work/data/telegram.heartbeat" && "$bin/python" -c "$check"
touch -d '5 minutes ago' "$work/data/telegram.heartbeat"
if "$bin/python" -c "$check"; then echo "healthcheck passed a stale heartbeat" >&2; exit 1; fi
echo "docker install steps: ok"
