"""`beian-bot`: the terminal chat by default, plus ask, eval, kb, telegram, backup, version.

Examples:
    beian-bot                      # chat in the terminal
    beian-bot chat --json          # one JSON line out per line in (for scripts and tests)
    beian-bot ask "备案要多久"
    beian-bot 备案要多久            # a question instead of a command: the same as ask
    beian-bot eval                 # accuracy on tests/data/faq_eval.yaml
    beian-bot kb check
    beian-bot telegram --stack aiogram   # needs BEIAN_TELEGRAM__TOKEN
    beian-bot backup ~/beian-bot.bak     # safe while the bot runs; `restore PATH` reads it
    beian-bot db status                  # applied and pending schema migrations; `db migrate`
    beian-bot db copy --from sqlite:////data/beian-bot.db --to postgresql://bot@db/beian
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from pathlib import Path

from bot import __version__
from bot.config import Settings
from bot.errors import BeianError

# Help texts in the user's language: Chinese when the locale is Chinese (LANG=zh_CN.UTF-8).
_HELP = {
    "en": {
        "description": "beian-bot: a chat assistant for ICP filing (ICP备案).",
        "chat": "chat in the terminal (the default)",
        "json": "one JSON line per input line",
        "user": "user id (default: your login name)",
        "ask": "answer one question and exit",
        "question": 'the question, or "-" to read one per line from stdin',
        "ask_json": "print a JSON object per question",
        "eval": "measure FAQ accuracy on a labelled question set",
        "file": "evaluation YAML file",
        "eval_json": "print the report as JSON",
        "sweep": "print accuracy at each answer threshold",
        "held_out": "only the held-out real questions: figures without the questions themselves",
        "tune": "only the tuning real questions, every miss listed",
        "kb": "knowledge-base tools",
        "check": "report duplicate ids, dangling links, weak phrasings",
        "telegram": "run the Telegram bot (long polling, or a webhook with --webhook)",
        "stack": "chat library (default: ptb)",
        "webhook": "public HTTPS URL ending in /telegram",
        "host": "webhook listen address",
        "port": "webhook listen port",
        "version": "print versions",
        "wecom": "run the WeCom (企业微信) AI bot over its long connection",
        "backup": "copy the database into a file, safe while the bot runs",
        "backup_path": "the backup file to write (mode 0600; an existing file is replaced)",
        "restore": "replace the database's content with a backup (the bot may keep running)",
        "restore_path": "a file written by beian-bot backup",
        "db": "database tools (BEIAN_DATABASE_URL, or BEIAN_DB_PATH for SQLite)",
        "db_status": "list the applied and pending schema migrations, changing nothing",
        "db_migrate": "apply the pending schema migrations (every start does this too)",
        "db_copy": "copy every table into a new, empty database (SQLite to PostgreSQL, ...)",
        "copy_from": "the database to copy: sqlite:////path/bot.db or postgresql://...",
        "copy_to": "an empty database: postgresql://user:password@host:5432/db or sqlite:///...",
    },
    "zh": {
        "description": "beian-bot：ICP 备案聊天助手。",
        "chat": "在终端里聊天（默认）",
        "json": "每输入一行，输出一行 JSON",
        "user": "用户 id（默认：当前登录名）",
        "ask": "回答一个问题后退出",
        "question": "要问的问题；写 - 则从标准输入每行读一个",
        "ask_json": "每个问题输出一个 JSON 对象",
        "eval": "在带标注的问题集上测 FAQ 准确率",
        "file": "评测用的 YAML 文件",
        "eval_json": "以 JSON 输出报告",
        "sweep": "列出每个回答阈值下的准确率",
        "held_out": "只测留出的真实问题：只给数字，不显示问题本身",
        "tune": "只测调参用的真实问题，列出每个答错的",
        "kb": "知识库工具",
        "check": "检查重复 id、失效链接和措辞问题",
        "telegram": "运行 Telegram 机器人（长轮询；加 --webhook 用 webhook）",
        "stack": "聊天库（默认 ptb）",
        "webhook": "以 /telegram 结尾的公网 HTTPS 地址",
        "host": "webhook 监听地址",
        "port": "webhook 监听端口",
        "version": "显示版本",
        "wecom": "运行企业微信智能机器人（长连接）",
        "backup": "把数据库备份到一个文件；机器人运行时也可以",
        "backup_path": "要写入的备份文件（权限 0600；已有的文件会被替换）",
        "restore": "用备份替换数据库的内容（机器人可以不停）",
        "restore_path": "beian-bot backup 写出的文件",
        "db": "数据库工具（BEIAN_DATABASE_URL；SQLite 也可用 BEIAN_DB_PATH）",
        "db_status": "列出已执行和待执行的数据库迁移，不做任何改动",
        "db_migrate": "执行待执行的数据库迁移（每次启动也会执行）",
        "db_copy": "把所有表复制到一个新的空数据库（如 SQLite 到 PostgreSQL）",
        "copy_from": "要复制的数据库：sqlite:////路径/bot.db 或 postgresql://...",
        "copy_to": "空的目标数据库：postgresql://用户:密码@主机:5432/库名 或 sqlite:///...",
    },
}
COMMANDS = frozenset(
    {"chat", "ask", "eval", "kb", "telegram", "wecom", "backup", "restore", "db", "version"}
)


def _locale_language() -> str:
    """zh when the user's locale is Chinese, else en (the POSIX variables, in their order)."""
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name)
        if value:
            return "zh" if value.lower().startswith("zh") else "en"
    return "en"


def _parser() -> argparse.ArgumentParser:
    h = _HELP[_locale_language()]
    parser = argparse.ArgumentParser(prog="beian-bot", description=h["description"])
    sub = parser.add_subparsers(dest="command")

    chat = sub.add_parser("chat", help=h["chat"])
    chat.add_argument("--json", action="store_true", help=h["json"])
    chat.add_argument("--user", default=None, help=h["user"])

    ask = sub.add_parser("ask", help=h["ask"])
    ask.add_argument("question", help=h["question"])
    ask.add_argument("--json", action="store_true", help=h["ask_json"])

    evaluate = sub.add_parser("eval", help=h["eval"])
    evaluate.add_argument("--file", type=Path, default=None, help=h["file"])
    evaluate.add_argument("--json", action="store_true", help=h["eval_json"])
    evaluate.add_argument("--sweep", action="store_true", help=h["sweep"])
    evaluate.add_argument("--held-out", action="store_true", help=h["held_out"])
    evaluate.add_argument("--tune", action="store_true", help=h["tune"])

    kb = sub.add_parser("kb", help=h["kb"])
    kb_sub = kb.add_subparsers(dest="kb_command", required=True)
    kb_sub.add_parser("check", help=h["check"])

    telegram = sub.add_parser("telegram", help=h["telegram"])
    telegram.add_argument("--stack", choices=("ptb", "aiogram"), default="ptb", help=h["stack"])
    telegram.add_argument("--webhook", metavar="URL", default=None, help=h["webhook"])
    telegram.add_argument("--host", default="0.0.0.0", help=h["host"])
    telegram.add_argument("--port", type=int, default=8080, help=h["port"])

    wecom = sub.add_parser("wecom", help=h["wecom"])
    # `beian-bot wecom` alone runs the bot; `bind-group` manages group robot bindings.
    bind = wecom.add_subparsers(dest="wecom_command").add_parser(
        "bind-group", help="send a group's reminders through its group robot (绑定群机器人)"
    )
    bind.add_argument("chat_id", nargs="?", metavar="CHAT_ID", help="the group's chatid")
    bind.add_argument("url", nargs="?", metavar="URL", help="the robot's webhook URL (with key)")
    bind.add_argument("--list", action="store_true", help="list bindings, keys masked")
    bind.add_argument("--remove", metavar="CHAT_ID", default=None, help="unbind a group")

    backup = sub.add_parser("backup", help=h["backup"])
    backup.add_argument("path", type=Path, help=h["backup_path"])
    restore = sub.add_parser("restore", help=h["restore"])
    restore.add_argument("path", type=Path, help=h["restore_path"])

    db = sub.add_parser("db", help=h["db"])
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("status", help=h["db_status"])
    db_sub.add_parser("migrate", help=h["db_migrate"])
    copy = db_sub.add_parser("copy", help=h["db_copy"])
    copy.add_argument("--from", dest="source", metavar="URL", required=True, help=h["copy_from"])
    copy.add_argument("--to", dest="target", metavar="URL", required=True, help=h["copy_to"])

    sub.add_parser("version", help=h["version"])
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the process exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] not in COMMANDS and not argv[0].startswith("-"):
        # `beian-bot 备案要多久`: a question where a command belongs is asked.
        argv = ["ask", " ".join(argv)]
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
    if command == "wecom" and args.wecom_command == "bind-group":
        from bot.channels.wecom.binding import run_bind_group

        return run_bind_group(
            args.chat_id, args.url, show=args.list, remove=args.remove, settings=settings
        )
    if command == "wecom":
        from bot.app import run_wecom

        return run_wecom(settings)
    if command == "kb":
        return _kb_check(settings)
    if command in ("backup", "restore"):
        return _backup_or_restore(command, args.path, settings)
    if command == "db":
        return _db(args, settings)
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
    from bot.engine.guard import clean_text, input_problem
    from bot.engine.texts import Language, decline_text, load_replies, render_entry
    from bot.faq.retriever import Verdict, load_retriever

    replies = load_replies()
    if args.question != "-":
        problem = input_problem(clean_text(args.question), replies)
        if problem is not None:  # nothing to answer: a usage error, said in a sentence
            print(f"beian-bot: {problem}", file=sys.stderr)
            return 2
    retriever = load_retriever(settings.cache_dir)
    questions = sys.stdin if args.question == "-" else [args.question]
    for raw in questions:
        question = clean_text(raw)
        # One bad line of many gets the reply `chat --json` gives it; the rest are answered.
        problem = input_problem(question, replies)
        payload: dict[str, object] = {"matched": False, "entry_id": None, "suggestions": []}
        if problem is not None:
            answer = problem
        else:
            match = retriever.match(question)
            english = match.language == "en"
            if match.language == "other":
                answer = replies.en.other_language
            elif match.verdict is Verdict.ANSWER and match.entry_id:
                language: Language = "en" if english else "zh"
                answer = render_entry(retriever.entry(match.entry_id), replies, language)
            elif match.verdict is Verdict.SUGGEST:
                titles = "\n".join(f"{i}. {s.title}" for i, s in enumerate(match.suggestions, 1))
                head = replies.en.did_you_mean if english else replies.did_you_mean
                answer = f"{head}\n{titles}"
            else:
                answer = decline_text(replies, match.about_filing, english).strip()
            payload = {
                "matched": match.verdict is Verdict.ANSWER,
                "entry_id": match.entry_id,
                "score": match.score,
                "suggestions": [s.model_dump() for s in match.suggestions],
            }
        if args.json:
            print(json.dumps({**payload, "answer": answer}, ensure_ascii=False), flush=True)
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


def _backup_or_restore(command: str, path: Path, settings: Settings) -> int:
    import importlib
    import importlib.util

    from bot.storage.base import BACKENDS

    # By backend name, as open_storage does: the CLI never names a backend. Only SQLite
    # has a backup module so far, so the file is always BEIAN_DB_PATH.
    name = f"{BACKENDS[settings.storage]}.backup"
    if importlib.util.find_spec(name) is None:
        print(
            f"beian-bot: {command} is for SQLite only; for {settings.storage} use its own "
            "tools (pg_dump and pg_restore for PostgreSQL)",
            file=sys.stderr,
        )
        return 2
    backup = importlib.import_module(name)
    if command == "backup":
        summary = backup.backup_to(settings.db_path, path)
        done = f"wrote {summary.path} from {settings.db_path}"
    else:
        key = settings.data_key.get_secret_value() if settings.data_key else None
        summary = backup.restore_from(path, settings.db_path, key)
        done = f"restored {path} into {summary.path}"
    print(f"{done}: {summary.reminders} reminder(s), {summary.filings} filing(s)")
    return 0


def _db(args: argparse.Namespace, settings: Settings) -> int:
    # bot.storage.base dispatches by backend name: the CLI never names a backend.
    from bot.storage.base import migrate, migration_status

    command = args.db_command
    if command == "copy":
        return _db_copy(args.source, args.target, settings)
    if command == "migrate":
        ran = migrate(settings)
        for name in ran:
            print(f"applied {name}")
        left = migration_status(settings)
        print(
            f"{settings.storage} {left.database}: {len(ran)} applied now, "
            f"{len(left.pending)} pending"
        )
        return 0
    status = migration_status(settings)
    print(f"{settings.storage} {status.database}")
    for name in status.applied:
        print(f"applied {name}")
    for name in status.pending:
        print(f"pending {name}")
    print(f"{len(status.applied)} applied, {len(status.pending)} pending")
    return 0


def _db_copy(source: str, target: str, settings: Settings) -> int:
    # bot.storage.copy opens both sides through bot.storage.base, by backend name.
    from bot.storage.copy import copy_database, key_advice, parse_place

    shown = (parse_place(source, "--from").shown, parse_place(target, "--to").shown)
    print(f"copying {shown[0]} -> {shown[1]} ...", file=sys.stderr)
    report = copy_database(source, target, settings)
    print(f"copied {report.source.shown} -> {report.target.shown}")
    width = max(map(len, [*report.counts, *report.left]), default=0)
    for table, count in report.counts.items():
        print(f"  {table:<{width}}  {count} row(s)")
    for table, why in report.left.items():
        print(f"  {table:<{width}}  not copied: {why}")
    print(f"{sum(report.counts.values())} row(s) in {len(report.counts)} table(s)")
    print(key_advice(report))
    return 0


def _kb_check(settings: Settings) -> int:
    from bot.app import build_retriever
    from bot.content import conversations_dir, knowledge_dir
    from bot.content_check import user_text_problems
    from bot.faq.knowledge import find_problems

    retriever = build_retriever(settings)
    problems = find_problems(retriever.kb, retriever.tokenizer)
    problems += retriever.model_problems()
    problems += user_text_problems(knowledge_dir(), conversations_dir())
    for problem in problems:
        print(problem)
    count = len(retriever.kb.entries)
    print(f"{count} entries, {len(problems)} problem(s)")
    return 1 if problems else 0
