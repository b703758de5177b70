"""Loads knowledge/ (FAQ entries, synonyms, user dictionary) and checks it for `kb check`."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from bot.content import knowledge_dir, load_yaml
from bot.errors import ContentError
from bot.faq.models import MIN_QUESTIONS, FaqEntry, FaqFile, OffTopicFile, SynonymFile
from bot.faq.text import Tokenizer


@dataclass(frozen=True)
class Knowledge:
    """Everything the FAQ needs, validated."""

    entries: dict[str, FaqEntry]
    synonyms: dict[str, str]  # variant -> canonical
    typos: dict[str, str]
    english_synonyms: dict[str, str]
    filler_words: frozenset[str]
    domain_terms: frozenset[str]
    userdict: Path
    # Words that alone make a message too vague to answer (knowledge/generic_words.txt).
    generic_words: frozenset[str] = frozenset()
    # Messages that are about something else (knowledge/off_topic.yaml): the classifier's
    # "none of the entries".
    off_topic: tuple[str, ...] = ()

    def fingerprint(self) -> str:
        """Everything tokenisation depends on, as one string for cache keys."""
        parts = [
            json.dumps(
                {e.id: e.model_dump(mode="json") for e in self.entries.values()},
                ensure_ascii=False,
            ),
            self.fingerprint_of_words(),
        ]
        return "\n".join(parts)

    def training_texts(self) -> dict[str, list[str]]:
        """Per entry, what the classifier learns from: phrasings, title, keywords, English."""
        texts: dict[str, list[str]] = {}
        for entry in self.entries.values():
            own = [*entry.questions, entry.title, *entry.keywords]
            if entry.en is not None:
                own += [*entry.en.questions, entry.en.title]
            texts[entry.id] = own
        return texts

    def training_fingerprint(self) -> str:
        """A short hash of the training texts and the tokenisation, to tell a stale model."""
        data = json.dumps(
            [self.training_texts(), self.off_topic, self.fingerprint_of_words()],
            ensure_ascii=False,
        )
        return hashlib.sha256(data.encode()).hexdigest()[:16]

    def fingerprint_of_words(self) -> str:
        """The word lists tokenisation depends on."""
        return json.dumps(
            [self.synonyms, self.typos, self.english_synonyms, sorted(self.filler_words)],
            ensure_ascii=False,
        ) + self.userdict.read_text(encoding="utf-8")

    def corpus(self) -> str:
        """All text the index is built from (used to trim the jieba dictionary)."""
        parts: list[str] = []
        for entry in self.entries.values():
            parts += [entry.title, entry.answer, *entry.questions, *entry.keywords]
        return "\n".join(parts)


def load_knowledge(root: Path | None = None, cache_dir: Path | None = None) -> Knowledge:
    """Read every knowledge file; duplicate ids fail loudly (`cache_dir`: see `load_yaml`)."""
    root = root or knowledge_dir()
    entries: dict[str, FaqEntry] = {}
    origin: dict[str, Path] = {}
    duplicates: list[str] = []
    for path in sorted((root / "faq").glob("*.yaml")):
        for entry in load_yaml(path, FaqFile, cache_dir).entries:
            if entry.id in entries:
                duplicates.append(
                    f"{path}: duplicate entry id {entry.id!r} (first in {origin[entry.id]})"
                )
            entries[entry.id] = entry
            origin[entry.id] = path
    if duplicates:
        raise ContentError("\n".join(duplicates))
    if not entries:
        raise ContentError(f"{root / 'faq'}: no FAQ entries found")
    synonym_file = load_yaml(root / "synonyms.yaml", SynonymFile)
    synonyms: dict[str, str] = {}
    for group in synonym_file.groups:
        for variant in group.variants:
            synonyms[variant.casefold()] = group.canonical.casefold()
    return Knowledge(
        entries=entries,
        synonyms=synonyms,
        typos=synonym_file.typos,
        english_synonyms=synonym_file.english,
        filler_words=_read_word_list(root / "filler_words.txt"),
        domain_terms=_read_word_list(root / "domain_terms.txt"),
        userdict=root / "userdict.txt",
        generic_words=_read_word_list(root / "generic_words.txt"),
        off_topic=tuple(load_yaml(root / "off_topic.yaml", OffTopicFile, cache_dir).questions),
    )


def find_problems(kb: Knowledge, tokenizer: Tokenizer) -> list[str]:
    """What `beian-bot kb check` reports: dangling related ids, too few or colliding phrasings."""
    problems: list[str] = []
    seen: dict[str, str] = {}
    for entry in kb.entries.values():
        if len(set(entry.questions)) < MIN_QUESTIONS:
            problems.append(
                f"{entry.id}: only {len(set(entry.questions))} distinct phrasings "
                f"(at least {MIN_QUESTIONS})"
            )
        for rid in entry.related:
            if rid not in kb.entries:
                problems.append(f"{entry.id}: related id {rid!r} does not exist")
            if rid == entry.id:
                problems.append(f"{entry.id}: lists itself as related")
        for question in entry.questions:
            # Phrasings that reduce to the same words cannot be told apart by the index.
            key = " ".join(sorted(set(tokenizer.tokens(question))))
            other = seen.get(key)
            if other is not None and other != entry.id:
                problems.append(f"{entry.id}: phrasing {question!r} collides with entry {other}")
            seen[key] = entry.id
    return problems


def _read_word_list(path: Path) -> frozenset[str]:
    """Whitespace-separated words; `#` starts a comment."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ContentError(f"{path}: cannot read: {exc}") from exc
    return frozenset(
        word.casefold() for line in text.splitlines() for word in line.split("#")[0].split()
    )
