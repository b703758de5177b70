"""`beian-bot`: the terminal chat by default, plus ask, eval, kb check, telegram, version.

Examples:
    beian-bot                      # chat in the terminal
    beian-bot chat --json          # one JSON line out per line in (for scripts and tests)
    beian-bot ask "备案要多久"
    beian-bot eval                 # accuracy on tests/data/faq_eval.yaml
    beian-bot kb check
    beian-bot telegram --stack aiogram   # needs BEIAN_TELEGRAM__TOKEN
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path

from bot import __version__
from bot.config import Settings
from bot.errors import BeianError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="beian-bot", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command")

    chat = sub.add_parser("chat", help="chat in the terminal (the default)")
    chat.add_argument("--json", action="store_true", help="one JSON line per input line")
    chat.add_argument("--user", default=None, help="user id (default: your login name)")

    ask = sub.add_parser("ask", help="answer one question and exit")
    ask.add_argument("question", help='the question, or "-" to read one per line from stdin')
    ask.add_argument("--json", action="store_true", help="print a JSON object per question")

    evaluate = sub.add_parser("eval", help="measure FAQ accuracy on a labelled question set")
    evaluate.add_argument("--file", type=Path, default=None, help="evaluation YAML file")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")
    evaluate.add_argument(
        "--sweep", action="store_true", help="print accuracy at each answer threshold"
    )
    evaluate.add_argument(
        "--held-out",
        action="store_true",
        help="only the held-out real questions: figures without the questions themselves",
    )
    evaluate.add_argument(
        "--tune", action="store_true", help="only the tuning real questions, every miss listed"
    )

    kb = sub.add_parser("kb", help="knowledge-base tools")
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    kb_sub.add_parser("check", help="report duplicate ids, dangling links, weak phrasings")

    telegram = sub.add_parser(
        "telegram", help="run the Telegram bot (long polling, or a webhook with --webhook)"
    )
    telegram.add_argument(
        "--stack", choices=("ptb", "aiogram"), default="ptb", help="chat library (default: ptb)"
    )
    telegram.add_argument(
        "--webhook", metavar="URL", default=None, help="public HTTPS URL ending in /telegram"
    )
    telegram.add_argument("--host", default="0.0.0.0", help="webhook listen address")
    telegram.add_argument("--port", type=int, default=8080, help="webhook listen port")

    sub.add_parser("version", help="print versions")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    args = _parser().parse_args(argv)
    settings = Settings()
    try:
        return _dispatch(args, settings)
    except BeianError as exc:
        print(f"beian-bot: {exc}", file=sys.stderr)
        return 2


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    from bot.privacy import configure_logging

    configure_logging(settings.log_level)
    command = args.command or "chat"
    if command == "version":
        import platform

        print(f"beian-bot {__version__}, Python {platform.python_version()}")
        return 0
    if command == "ask":
        return _ask(args, settings)
    if command == "eval":
        return _eval(args, settings)
    if command == "telegram":
        from bot.app import run_telegram

        return run_telegram(settings, args.stack, args.webhook, args.host, args.port)
    if command == "kb":
        return _kb_check(settings)
    return _chat(args, settings)


def _chat(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import build_app
    from bot.channels import terminal
    from bot.reminders import ReminderSender

    app = build_app(settings)
    user = getattr(args, "user", None) or getpass.getuser()
    exports = settings.db_path.parent / "exports"
    # The terminal cannot be woken: reminders due for this user come with the next reply.
    reminders = ReminderSender(app.storage.reminders, {})
    app.engine.inline_due = reminders.collect_due
    if getattr(args, "json", False):
        return terminal.run_json(app.engine, user, sys.stdin, sys.stdout, exports)
    history = settings.db_path.parent / "chat-history"
    poll = reminders.due_hook(terminal.chat_of(user))
    return terminal.run_interactive(app.engine, user, history, exports, poll_due=poll)


def _ask(args: argparse.Namespace, settings: Settings) -> int:
    # Only the FAQ: no database, no dialogue, no channels, so a one-shot answer starts fast.
    from bot.engine.texts import Language, load_replies, render_entry
    from bot.faq.retriever import Verdict, load_retriever

    retriever = load_retriever(settings.cache_dir)
    replies = load_replies()
    questions = sys.stdin if args.question == "-" else [args.question]
    for raw in questions:
        question = raw.rstrip("\n")
        match = retriever.match(question)
        english = match.language == "en"
        if match.language == "other":
            answer = replies.en.other_language
        elif match.verdict is Verdict.ANSWER and match.entry_id:
            language: Language = "en" if english else "zh"
            answer = render_entry(retriever.entry(match.entry_id), replies, language)
        elif match.verdict is Verdict.SUGGEST:
            titles = "\n".join(f"{i}. {s.title}" for i, s in enumerate(match.suggestions, 1))
            answer = f"{replies.en.did_you_mean if english else replies.did_you_mean}\n{titles}"
        else:
            answer = (replies.en.out_of_scope if english else replies.out_of_scope).strip()
        if args.json:
            payload = {
                "matched": match.verdict is Verdict.ANSWER,
                "entry_id": match.entry_id,
                "score": match.score,
                "answer": answer,
                "suggestions": [s.model_dump() for s in match.suggestions],
            }
            print(json.dumps(payload, ensure_ascii=False), flush=True)
        else:
            print(answer, flush=True)
    return 0


def _eval(args: argparse.Namespace, settings: Settings) -> int:
    from bot.app import build_retriever
    from bot.content import data_root
    from bot.faq.evaluation import (
        evaluate,
        evaluate_part,
        format_part,
        format_report,
        load_eval_set,
        load_real_questions,
        part_of,
        sweep,
    )

    data_dir = data_root() / "tests" / "data"
    path = args.file or data_dir / "faq_eval.yaml"
    real_dir = data_dir / "real_questions"
    if not path.exists():
        print(f"beian-bot: no evaluation file at {path}; pass --file", file=sys.stderr)
        return 2
    retriever = build_retriever(settings)
    real = load_real_questions(real_dir) if real_dir.is_dir() and not args.file else []
    parts = {"tune": [q for q in real if part_of(q) == "tune"]}
    parts["held_out"] = [q for q in real if part_of(q) == "held_out"]
    if args.held_out or args.tune:
        name = "held_out" if args.held_out else "tune"
        # Held-out questions are never printed: reading them would be tuning on them.
        report = evaluate_part(retriever, parts[name], name, with_misses=args.tune)
        print(report.model_dump_json(indent=2) if args.json else format_part(report))
        return 0
    data = load_eval_set(path)
    if args.sweep:
        print(sweep(retriever, data))
        return 0
    regression = evaluate(retriever, data)
    if args.json:
        print(regression.model_dump_json(indent=2))
        return 0
    print("== regression set (written by the team; not a measure of real use)")
    print(format_report(regression))
    for name, questions in parts.items():
        if questions:
            print()
            print(format_part(evaluate_part(retriever, questions, name, with_misses=False)))
    return 0


def _kb_check(settings: Settings) -> int:
    from bot.app import build_retriever
    from bot.content import conversations_dir, knowledge_dir
    from bot.content_check import user_text_problems
    from bot.faq.knowledge import find_problems

    retriever = build_retriever(settings)
    problems = find_problems(retriever.kb, retriever.tokenizer)
    problems += user_text_problems(knowledge_dir(), conversations_dir())
    for problem in problems:
        print(problem)
    count = len(retriever.kb.entries)
    print(f"{count} entries, {len(problems)} problem(s)")
    return 1 if problems else 0
