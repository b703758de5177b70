"""Long answers are cut to what was asked; 更多 / more shows the rest once."""

from __future__ import annotations

from bot.app import App
from bot.engine.brief import MAX_LINES, brief
from tests.drivers import EngineChat


def _words(text: str) -> list[str]:
    return text.split()


def test_a_short_answer_is_shown_whole() -> None:
    answer = "\n".join(f"line {i}" for i in range(MAX_LINES))
    assert brief(answer, "anything", _words) == (answer, "")


def test_a_long_answer_keeps_its_first_line_and_the_lines_the_question_names() -> None:
    lines = ["yes you can", *(f"detail {i}" for i in range(6)), "about zhejiang bureau", "end"]
    shown, rest = brief("\n".join(lines), "what about zhejiang", _words)
    kept = shown.splitlines()
    assert kept[0] == "yes you can"
    assert "about zhejiang bureau" in kept
    # Nothing is lost and nothing is shown twice; the original order is kept.
    assert sorted(kept + rest.splitlines()) == sorted(lines)
    assert kept == [line for line in lines if line in kept]


def test_more_shows_the_cut_lines_once(app: App) -> None:
    entry = next(e for e in app.engine.retriever.kb.entries.values()
                 if len(e.answer.strip().splitlines()) > MAX_LINES)  # fmt: skip
    chat = EngineChat(app.engine)
    [first] = chat.say(f"/faq {entry.id}")
    assert "想了解更多回复 更多" in first
    [rest] = chat.say("更多")
    answer_lines = entry.answer.strip().splitlines()
    assert set(first.splitlines()[:-2]) | set(rest.splitlines()) == set(answer_lines)
    # Said again, 更多 is a question like any other, not a second copy.
    assert chat.say("更多") != [rest]
