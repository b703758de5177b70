"""Every content file loads, the knowledge base is clean, and broken files fail loudly."""

from pathlib import Path

import pytest
import yaml

from bot.content import load_yaml
from bot.engine.texts import load_replies
from bot.errors import ContentError
from bot.faq.knowledge import find_problems, load_knowledge
from bot.faq.models import FaqFile
from bot.faq.retriever import Retriever


def test_knowledge_base_has_no_problems(retriever: Retriever) -> None:
    assert find_problems(retriever.kb, retriever.tokenizer) == []


def test_every_topic_listed_in_the_design_has_an_entry(retriever: Retriever) -> None:
    topics = Path(__file__).resolve().parents[1] / "docs" / "kb_topics.md"
    listed = {
        line.split("`")[1]
        for line in topics.read_text(encoding="utf-8").splitlines()
        if line.startswith("- `")
    }
    assert listed <= set(retriever.kb.entries)


def test_every_entry_has_five_phrasings_and_a_source(retriever: Retriever) -> None:
    for entry in retriever.kb.entries.values():
        assert len(set(entry.questions)) >= 5, entry.id
        assert entry.source.strip(), entry.id
        assert "来源" not in entry.answer, f"{entry.id}: the source line is added by the bot"


def test_replies_file_loads() -> None:
    assert "/filing" in load_replies().help


def test_broken_faq_file_names_file_entry_and_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "entries:\n  - id: ok-entry\n    title: 标题\n    questions: [a, b, c, d, e]\n"
        "    source: s\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as err:
        load_yaml(bad, FaqFile)
    message = str(err.value)
    assert "bad.yaml" in message and "id=ok-entry" in message and "answer" in message


def test_duplicate_ids_fail_loudly(tmp_path: Path) -> None:
    (tmp_path / "faq").mkdir()
    entry = (
        "  - id: same\n    title: 标题\n    questions: [a, b, c, d, e]\n"
        "    answer: 一个足够长的回答内容。\n    source: 文章\n"
    )
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / "faq" / name).write_text("entries:\n" + entry, encoding="utf-8")
    (tmp_path / "synonyms.yaml").write_text("groups: []\n", encoding="utf-8")
    with pytest.raises(ContentError, match="duplicate entry id 'same'"):
        load_knowledge(tmp_path)


def test_kb_check_reports_dangling_links_thin_entries_and_collisions(
    retriever: Retriever,
) -> None:
    from dataclasses import replace

    from bot.faq.models import FaqEntry

    base = {"title": "标题", "answer": "一个足够长的回答内容。", "source": "文章"}
    entries = {
        "a": FaqEntry(id="a", questions=["备案要多久", "q2", "q3"], related=["zzz"], **base),
        "b": FaqEntry(id="b", questions=["备案要多久？", "x1", "x2", "x3", "x4"], **base),
    }
    problems = find_problems(replace(retriever.kb, entries=entries), retriever.tokenizer)
    text = "\n".join(problems)
    assert "a: only 3 distinct phrasings" in text
    assert "related id 'zzz' does not exist" in text
    assert "collides with entry a" in text


def test_every_conversations_file_loads() -> None:
    from bot.dialogue.change import load_change_texts
    from bot.dialogue.forms import load_forms
    from bot.dialogue.precheck import load_precheck_texts
    from bot.dialogue.texts import load_dialogue_texts
    from bot.reminders.texts import load_reminder_texts

    forms = load_forms()
    assert {"filing", "change"} <= set(forms)
    for spec in forms.values():
        for slot in spec.slots:
            assert slot.prompt.strip() and slot.example, f"{spec.id}.{slot.name}"
    assert load_dialogue_texts().privacy_notice
    assert "overseas_server" in load_precheck_texts().findings
    assert load_change_texts().add_domain
    assert load_reminder_texts()


def test_parsed_yaml_is_cached_and_an_edited_file_is_read_again(tmp_path: Path) -> None:
    path = tmp_path / "faq.yaml"
    entry = {
        "id": "x",
        "title": "标题",
        "questions": ["一", "二", "三", "四", "五"],
        "answer": "一个足够长的回答，写满十个字以上。",
        "source": "《非经营性互联网信息服务备案管理办法》第五条",
        "checked": "2026-12-03",
    }
    path.write_text(yaml.safe_dump({"entries": [entry]}, allow_unicode=True), encoding="utf-8")
    cache = tmp_path / "cache"
    first = load_yaml(path, FaqFile, cache)
    assert len(list(cache.glob("yaml-*.json"))) == 1
    assert load_yaml(path, FaqFile, cache) == first == load_yaml(path, FaqFile)
    path.write_text(
        yaml.safe_dump({"entries": [{**entry, "title": "新标题"}]}, allow_unicode=True),
        encoding="utf-8",
    )
    assert load_yaml(path, FaqFile, cache).entries[0].title == "新标题"
