"""Finds knowledge/ and conversations/ and loads their YAML through pydantic, failing loudly."""

from __future__ import annotations

import hashlib
import json
import os
from functools import cache
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from bot.errors import ContentError

M = TypeVar("M", bound=BaseModel)

_PACKAGE_DIR = Path(__file__).resolve().parent
# libyaml's loader is about ten times faster, which matters for start-up; same safe semantics.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@cache
def data_root() -> Path:
    """The folder holding knowledge/ and conversations/: inside the wheel, else the checkout."""
    bundled = _PACKAGE_DIR / "_data"
    if (bundled / "knowledge").is_dir():
        return bundled
    return _PACKAGE_DIR.parent


def knowledge_dir() -> Path:
    """The knowledge/ folder (FAQ, dictionary, synonyms, rule tables)."""
    return data_root() / "knowledge"


def conversations_dir() -> Path:
    """The conversations/ folder (forms, flows, reply texts)."""
    return data_root() / "conversations"


def load_yaml(path: Path, model: type[M], cache_dir: Path | None = None) -> M:
    """Parse one YAML file into `model`; errors name the file, the entry and the field.

    With `cache_dir`, the parsed data is kept there as JSON keyed by the file's bytes: the
    FAQ's YAML takes a tenth of a second to parse and JSON a hundredth, which start-up feels.
    """
    try:
        text = path.read_text(encoding="utf-8")
        raw = _cached_parse(text, cache_dir) if cache_dir else _parse(text)
    except (OSError, yaml.YAMLError) as exc:
        raise ContentError(f"{path}: cannot read YAML: {exc}") from exc
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = _describe_location(raw, err["loc"])
            problems.append(f"{path}: {where}: {err['msg']}")
        raise ContentError("\n".join(problems)) from exc


def _parse(text: str) -> object:
    return yaml.load(text, Loader=_SafeLoader)


def _cached_parse(text: str, cache_dir: Path) -> object:
    key = hashlib.sha256(text.encode()).hexdigest()[:20]
    path = cache_dir / f"yaml-{key}.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    raw = _parse(text)
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        # default=str: YAML dates become ISO strings, which the models read back the same.
        tmp.write_text(json.dumps(raw, ensure_ascii=False, default=str), encoding="utf-8")
        tmp.replace(path)
    except OSError:
        pass  # a read-only cache only costs speed
    return raw


def _describe_location(raw: object, loc: tuple[int | str, ...]) -> str:
    """Turn a pydantic error location into `entries[3] (id=foo).answer`."""
    parts: list[str] = []
    node = raw
    for key in loc:
        if isinstance(key, int):
            label = f"[{key}]"
            if isinstance(node, list) and key < len(node):
                node = node[key]
                if isinstance(node, dict) and "id" in node:
                    label += f" (id={node['id']})"
            parts.append(label)
        else:
            parts.append(f".{key}" if parts else str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts) or "(top level)"
