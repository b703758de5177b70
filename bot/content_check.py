"""Finds workshop references in text users read: our file names, fact numbers, issue numbers.

A user can open a regulation's article or a provider's page at its URL; "facts.md 7",
"tld_list §1", 原文章 or "anyesu/blog#49" mean nothing to them and leak how the bot was made.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import yaml

# Full URLs are what a user can open, whatever path they hold; they are removed before the
# patterns below look for bare file names and repository paths.
_URL = re.compile(r"https?://[^\s，。；、）)」』\"']+")
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("an internal facts reference", re.compile(r"facts(?:\.md|\s*\d)|\bF\s?\d+\b", re.I)),
    ("an internal file name", re.compile(r"tld_list|\b[\w-]+\.(?:md|py|ya?ml|txt)\b", re.I)),
    ("a section sign", re.compile(r"§")),
    ("the seed article", re.compile(r"原文章|文章[「『《“]|(?:见|据|参考|按|同)文章")),
    ("an issue or PR number", re.compile(r"(?:issues?|PR|pull)\s*#?\s*\d+|#\d+", re.I)),
    ("a repository path", re.compile(r"github\.com|qcloud-documents|huaweicloud-skills|product/")),
    (
        "a commit hash",
        re.compile(r"\bcommit\b|\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*\d)[0-9a-f]{7,40}\b"),
    ),
)


def internal_references(text: str) -> list[str]:
    """What in `text` names our workshop rather than something a user can open."""
    bare = _URL.sub(" ", text)
    found = []
    for label, pattern in _PATTERNS:
        match = pattern.search(bare)
        if match:
            found.append(f"{label} ({match.group(0)!r})")
    return found


def user_text_problems(*roots: Path) -> list[str]:
    """Every string value in the YAML under `roots` that holds an internal reference."""
    problems = []
    for root in roots:
        for path in sorted(root.rglob("*.yaml")):
            # Comments are for the team; yaml drops them, so only values are checked.
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            for where, text in _strings(data, ""):
                for found in internal_references(text):
                    problems.append(f"{path.relative_to(root.parent)}: {where}: {found}")
    return problems


def _strings(node: object, where: str) -> Iterator[tuple[str, str]]:
    if isinstance(node, str):
        yield where or "(top level)", node
    elif isinstance(node, dict):
        for key, value in node.items():
            label = f"{where}[id={node['id']}]" if "id" in node and key != "id" else where
            yield from _strings(value, f"{label}.{key}" if label else str(key))
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _strings(item, f"{where}[{i}]")
