"""The engine: one synchronous `handle(Incoming) -> list[Outgoing]` that every channel calls."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime

from pydantic import ValidationError

from bot.dialogue.forms import FormResult, Forms, SideAnswer, Who
from bot.dialogue.models import FormKind, FormSpec, FormState
from bot.dialogue.runner import Prompt
from bot.engine.brief import brief
from bot.engine.guard import clean_text, input_problem
from bot.engine.state import ConversationState
from bot.engine.texts import (
    Language,
    Replies,
    decline_text,
    entry_body,
    render_entry,
    source_line,
)
from bot.faq.retriever import Match, Retriever, Verdict
from bot.messages import ChatKind, ChatRef, Choice, Incoming, Outgoing, dump_replies
from bot.privacy import contains_personal_data
from bot.reminders import Owner, ReminderIntake, what_from_form
from bot.storage.base import Storage, StorageUnavailable

logger = logging.getLogger(__name__)
# What a question's answer saves: losing it while the database takes no writes costs a menu.
_CONVENIENCES = {"pending_choices", "more"}

_COMMAND_RE = re.compile(r"^/([A-Za-z_]+)(?:@\w+)?(?:\s+(.*))?$", re.DOTALL)
_MORE_WORDS = frozenset({"更多", "more", "/more", "继续", "展开"})
_YES_WORDS = frozenset({"确认", "确定", "是", "是的", "对", "yes", "y", "ok"})
_NUMBER_RE = re.compile(r"^\s*(\d{1,3})\s*[.、)）]?\s*$")
# Commands that move, show or end the running form; after any other command the form's
# question is asked again, so the form carries on.
_FORM_COMMANDS = frozenset(
    {"filing", "change", "flow", "back", "skip", "edit", "cancel", "status", "export", "forget"}
)
# The flow that turns a reported rejection into its fix (conversations/flows/rejected.yaml).
_REJECTION_FLOW = "rejected"

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    """The real clock; tests pass their own."""
    return datetime.now(UTC)


class Engine:
    """Routes messages; owns no platform detail and imports no chat library."""

    def __init__(
        self,
        *,
        retriever: Retriever,
        storage: Storage,
        replies: Replies,
        forms: Forms,
        reminders: ReminderIntake | None = None,
        bot_name: str = "备案助手",
        clock: Clock = utc_now,
    ) -> None:
        self.retriever = retriever
        self.storage = storage
        self.replies = replies
        self.forms = forms
        self.reminders = reminders
        self.bot_name = bot_name
        self.clock = clock
        # Set by channels that cannot be woken (the terminal): due reminders for a chat ride
        # on the replies to that chat's next message.
        self.inline_due: Callable[[ChatRef, datetime], list[Outgoing]] | None = None
        # Called with (channel, user_id) after /forget: what a channel keeps outside the
        # database (the terminal's export files) goes too.
        self.on_forget: list[Callable[[str, str], None]] = []
        self._commands: dict[str, Callable[[Incoming, ConversationState, str], list[Outgoing]]] = {
            "start": self._cmd_start,
            "help": self._cmd_help,
            "faq": self._cmd_faq,
            "forget": self._cmd_forget,
            "filing": self._cmd_filing,
            "change": self._cmd_change,
            "flow": self._cmd_flow,
            "back": self._cmd_back,
            "skip": self._cmd_skip,
            "edit": self._cmd_edit,
            "cancel": self._cmd_cancel,
            "status": self._cmd_status,
            "export": self._cmd_export,
            "lang": self._cmd_lang,
        }
        if reminders is not None:
            for name, handler in reminders.commands().items():
                self._commands.setdefault(name, self._reminder_command(handler))
            self._change_clock = self._reminder_command(reminders.commands()["change"])

    # ---- entry point -------------------------------------------------------------------

    @property
    def command_names(self) -> frozenset[str]:
        """Every command the engine answers, without the slash."""
        return frozenset(self._commands)

    def handle(self, msg: Incoming) -> list[Outgoing]:
        """Answer one message; state is saved before the replies are returned."""
        text = clean_text(msg.text)
        early = self._without_turn(msg, text)
        if early is not None:
            return early if self._take(msg, early) else []
        try:
            return self._turn(msg, text)
        except StorageUnavailable as exc:
            logger.warning("cannot save a %s turn: %s", msg.chat.channel, exc)
            return self._without_saving(msg, text)
        except Exception:
            # A bug must cost one reply, not the process or the user's data: the turn's
            # transaction was rolled back, so the state is exactly as before this message.
            logger.exception("engine failed on a %s message", msg.chat.channel)
            return [self._reply(msg, self.replies.error)]

    def _without_turn(self, msg: Incoming, text: str) -> list[Outgoing] | None:
        """The replies that need no state (group etiquette, bad input), or None for a turn."""
        if msg.chat.kind is ChatKind.GROUP:
            if contains_personal_data(text):
                return [self._pii_warning(msg)]
            if not (text.startswith("/") or msg.mentioned or msg.reply_to_bot):
                return []
        problem = input_problem(text, self.replies)
        return None if problem is None else [self._reply(msg, problem)]

    def _take(self, msg: Incoming, replies: list[Outgoing]) -> bool:
        """Take the kept update the message came in; False when another worker took it."""
        if msg.update_id is None:
            return True
        try:
            with self.storage.transaction():
                if not self.storage.inbox.done(msg.chat.channel, msg.update_id):
                    return False
                self._keep(msg, replies)
                return True
        except StorageUnavailable:
            return True  # answer anyway: these replies save nothing

    def _keep(self, msg: Incoming, replies: list[Outgoing]) -> None:
        """Keep the replies with the taken update, so they reach the chat even if this
        process dies before sending them."""
        if msg.update_id is not None and replies:
            self.storage.inbox.keep_replies(msg.chat.channel, msg.update_id, dump_replies(replies))

    def _without_saving(self, msg: Incoming, text: str) -> list[Outgoing]:
        """The database takes no writes: a question is still answered (what it would save,
        the menu and the rest of a cut answer, is a convenience), anything else is told that
        nothing was saved rather than answered as if its step was taken."""
        try:
            with self.storage.reading():
                state = self._load_state(msg)
                before = state.model_dump(exclude=_CONVENIENCES)
                replies = self._route(msg, text, state)
                if state._deleted or state.model_dump(exclude=_CONVENIENCES) != before:
                    raise StorageUnavailable("the turn changed the conversation")
        except Exception:  # a write the turn tried, or the state it would change
            return [self._reply(msg, self.replies.cannot_save)]
        return replies

    def _turn(self, msg: Incoming, text: str) -> list[Outgoing]:
        # One transaction per turn: the filing row, the conversation state and the handled
        # update's removal from the inbox are written together, before the reply leaves.
        with self.storage.transaction():
            # Taken first: when another worker has handled this update, this turn does nothing.
            if msg.update_id is not None and not self.storage.inbox.done(
                msg.chat.channel, msg.update_id
            ):
                return []
            state = self._load_state(msg)
            before = state.model_dump_json()
            replies = self._route(msg, text, state)
            if self.inline_due is not None:
                replies = self.inline_due(msg.chat, self.clock()) + replies
            offered = [r.choices for r in replies if r.choices]
            if offered:
                state.pending_choices = list(offered[-1])
            after = state.model_dump_json()
            if after != before and not state._deleted:
                self.storage.sessions.save(msg.chat.channel, msg.chat.chat_id, msg.user_id, after)
            self._keep(msg, replies)
        if state._deleted:
            # Committed: now the bytes on disk, and whatever a channel kept (terminal exports).
            self.storage.scrub()
            for forget in self.on_forget:
                forget(msg.chat.channel, msg.user_id)
        return replies

    def _route(self, msg: Incoming, text: str, state: ConversationState) -> list[Outgoing]:
        # The rest of a cut answer is offered for one message only.
        more, state.more = state.more, None
        if more and text.strip().casefold() in _MORE_WORDS:
            return [self._reply(msg, more)]
        command = _COMMAND_RE.match(text)
        if command:
            name, args = command.group(1).lower(), (command.group(2) or "").strip()
            state.pending_choices = []
            handler = self._commands.get(name)
            if handler is None:
                replies = [
                    self._reply(msg, self.replies.unknown_command.format(command="/" + name))
                ]
            else:
                replies = handler(msg, state, args)
            # Not after replies with choices of their own: the last choices shown are the
            # ones a typed number or label picks.
            aside = name not in _FORM_COMMANDS and not (name == "start" and args == "filing")
            if aside and not any(r.choices for r in replies):
                replies += self._form_again(msg, state)
            return replies
        number = _NUMBER_RE.match(text)
        pending = state.pending_choices
        state.pending_choices = []
        # Numbers for commands offered as choices ("did you mean", "which filing") are picked
        # here; numbers for a form question are the form's own business.
        if number and pending and pending[0].value.startswith("/"):
            state.pending_choices = pending
            return self._pick(msg, state, int(number.group(1)))
        # Typed instead of pressed (the terminal has no buttons): 「确认删除」 is that choice,
        # and so is a plain yes to a question that asks for a confirmation.
        typed = next((c for c in pending if c.label == text.strip()), None)
        if typed is None and text.strip().casefold() in _YES_WORDS:
            typed = next((c for c in pending if c.value.endswith(" confirm")), None)
        if typed is not None and typed.value.startswith("/"):
            return self._route(msg, typed.value, state)
        form = None if msg.chat.kind is ChatKind.GROUP else self._form(state)
        if form is not None:
            # One lookup per text in a turn: the form may ask twice (is it a question? can the
            # FAQ answer what the field refused?), and each is a full retrieval.
            faq = functools.lru_cache(maxsize=4)(self._faq_text)
            result = self.forms.handle(self._who(msg), form, text, faq)
            return self._form_replies(msg, state, result)
        if self.reminders is not None and self.reminders.reports_return(text):
            # 「备案被驳回了，说网站名称不符合要求」: the fix first, the reminders only offered.
            return self._rejection(msg, state, text)
        if self.reminders is not None:
            # "我刚收到管局的短信", "公司昨天改名了": events start their clocks.
            event_replies = self.reminders.handle(msg, text, self.clock())
            if event_replies is not None:
                return event_replies
        if msg.chat.kind is ChatKind.GROUP:
            if self.forms.trigger(text) is not None:
                return [self._group_pointer(msg)]
            return self._answer_question(msg, text, state)
        form_id = self.forms.trigger(text)
        if form_id is not None:
            return self._start_form(msg, state, form_id, "")
        return self._answer_question(msg, text, state)

    # ---- choices ------------------------------------------------------------------------

    def _pick(self, msg: Incoming, state: ConversationState, number: int) -> list[Outgoing]:
        choices = state.pending_choices
        if not 1 <= number <= len(choices):
            text = self.replies.choice_out_of_range.format(number=number, count=len(choices))
            return [self._reply(msg, text, choices)]
        state.pending_choices = []
        return self._route(msg, choices[number - 1].value, state)

    # ---- FAQ -------------------------------------------------------------------------------

    def _answer_question(
        self, msg: Incoming, text: str, state: ConversationState
    ) -> list[Outgoing]:
        match = self.retriever.match(text)
        if match.language == "other" and state.language is None:
            return [self._reply(msg, self.replies.en.other_language)]
        language = state.language or ("en" if match.language == "en" else "zh")
        return [self._faq_reply(msg, match, language, state, text)]

    def _faq_reply(
        self, msg: Incoming, match: Match, language: Language, state: ConversationState, text: str
    ) -> Outgoing:
        english = language == "en"
        if match.verdict is Verdict.ANSWER and match.entry_id:
            return self._entry_reply(msg, match.entry_id, language, state, text)
        if match.verdict is Verdict.SUGGEST:
            # The pick is answered in the language of the question it came from.
            suffix = " en" if english else ""
            choices = [
                Choice(
                    label=self.retriever.title(s.entry_id, language),
                    value=f"/faq {s.entry_id}{suffix}",
                )
                for s in match.suggestions
            ]
            prompt = self.replies.en.did_you_mean if english else self.replies.did_you_mean
            return self._reply(msg, prompt, choices)
        return self._reply(msg, decline_text(self.replies, match.about_filing, english))

    def _entry_reply(
        self,
        msg: Incoming,
        entry_id: str,
        language: Language,
        state: ConversationState,
        question: str = "",
    ) -> Outgoing:
        """An answer cut to what was asked; where a flow covers the topic, offer to start it."""
        entry = self.retriever.entry(entry_id)
        body = entry_body(entry, self.replies, language)
        shown, rest = brief(body, question, lambda t: self.retriever.tokens(t, language))
        if rest:
            state.more = rest
            hint = self.replies.en.more_hint if language == "en" else self.replies.more_hint
            shown = f"{shown}\n{hint}"
        text = f"{shown}\n{source_line(entry, self.replies, language)}"
        flow = next((f for f in self.forms.forms.values() if entry_id in f.faq), None)
        offer = Choice(label=self.replies.flow_offer, value=f"/flow {flow.id}") if flow else None
        choices = [offer] if offer else []
        return self._reply(msg, text, choices)

    def render_entry(self, entry_id: str, language: Language = "zh") -> str:
        """An entry's answer with its source as the last line."""
        return render_entry(self.retriever.entry(entry_id), self.replies, language)

    # ---- commands ------------------------------------------------------------------------

    def _cmd_start(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        if args == "filing" and msg.chat.kind is ChatKind.PRIVATE:  # a deep link from a group
            return self._cmd_filing(msg, state, "")
        return [self._reply(msg, self.replies.start.format(bot_name=self.bot_name).strip())]

    def _cmd_filing(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        return self._start_form(msg, state, "filing", args)

    def _cmd_change(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        # `/change 域名 2026-12-01` records it in one line; bare `/change` asks step by step.
        if args and self.reminders is not None:
            return self._change_clock(msg, state, args)
        return self._start_form(msg, state, "change", args)

    def _reminder_command(
        self, handler: Callable[[Incoming, str, datetime], list[Outgoing]]
    ) -> Callable[[Incoming, ConversationState, str], list[Outgoing]]:
        def run(msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
            return handler(msg, args, self.clock())

        return run

    def _cmd_flow(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        flow_id = args.split(" ")[0]
        if flow_id not in self.forms.forms:
            return [self._reply(msg, self.replies.unknown_entry.format(entry_id=flow_id or "?"))]
        return self._start_form(msg, state, flow_id, "")

    def _cmd_back(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        return self._with_form(msg, state, lambda f: self.forms.back(self._who(msg), f))

    def _cmd_skip(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        return self._with_form(msg, state, lambda f: self.forms.skip(self._who(msg), f))

    def _cmd_edit(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        return self._with_form(msg, state, lambda f: self.forms.edit(self._who(msg), f, args))

    def _cmd_cancel(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        if self._form(state) is None:
            return [self._reply(msg, self.replies.cancelled_nothing)]
        return self._with_form(msg, state, lambda f: self.forms.cancel(self._who(msg), f))

    def _cmd_status(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        prompt = self.forms.status(self._who(msg), self._form(state))
        return [self._reply(msg, prompt.text)]

    def _cmd_export(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        if msg.chat.kind is ChatKind.GROUP:
            return [self._group_pointer(msg)]
        prompts = self.forms.export(self._who(msg), self._form(state), args)
        return [self._from_prompt(msg, p) for p in prompts]

    def _cmd_help(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        return [self._reply(msg, self.replies.help.strip())]

    def _cmd_faq(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        entry_id, _, wanted = args.partition(" ")
        if entry_id not in self.retriever.kb.entries:
            return [self._reply(msg, self.replies.unknown_entry.format(entry_id=entry_id or "?"))]
        language: Language = state.language or ("en" if wanted.strip() == "en" else "zh")
        return [self._entry_reply(msg, entry_id, language, state)]

    def _cmd_lang(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        wanted = args.strip().lower()
        if wanted not in ("zh", "en"):
            return [self._reply(msg, self.replies.language_usage)]
        state.language = "en" if wanted == "en" else "zh"
        text = self.replies.en.language_set if wanted == "en" else self.replies.language_set
        return [self._reply(msg, text)]

    def _cmd_forget(self, msg: Incoming, state: ConversationState, args: str) -> list[Outgoing]:
        if args != "confirm":
            choices = [
                Choice(label=self.replies.forget_yes, value="/forget confirm"),
                Choice(label=self.replies.forget_no, value="/help"),
            ]
            return [self._reply(msg, self.replies.forget_confirm.strip(), choices)]
        count = self.storage.forget_user(msg.chat.channel, msg.user_id)
        state._deleted = True
        return [self._reply(msg, self.replies.forgotten.format(count=count))]

    # ---- forms ---------------------------------------------------------------------------

    def _start_form(
        self, msg: Incoming, state: ConversationState, form_id: str, args: str
    ) -> list[Outgoing]:
        if msg.chat.kind is ChatKind.GROUP:
            return [self._group_pointer(msg)]
        result = self.forms.start(self._who(msg), form_id, self._form(state), args)
        return self._form_replies(msg, state, result)

    def _rejection(self, msg: Incoming, state: ConversationState, text: str) -> list[Outgoing]:
        result = self.forms.start_from(self._who(msg), _REJECTION_FLOW, text)
        if msg.chat.kind is ChatKind.GROUP and result.form is not None:
            return [self._group_pointer(msg)]  # more questions: not in front of the group
        return self._form_replies(msg, state, result)

    def _with_form(
        self,
        msg: Incoming,
        state: ConversationState,
        action: Callable[[FormState], FormResult],
    ) -> list[Outgoing]:
        form = self._form(state)
        if form is None or msg.chat.kind is ChatKind.GROUP:
            return [self._reply(msg, self.replies.no_form)]
        return self._form_replies(msg, state, action(form))

    def _form_replies(
        self, msg: Incoming, state: ConversationState, result: FormResult
    ) -> list[Outgoing]:
        state.form = None if result.form is None else result.form.model_dump(mode="json")
        out = [self._from_prompt(msg, p) for p in result.prompts]
        if result.finished is not None and result.finished_spec is not None:
            out += self.on_form_finished(msg, result.finished, result.finished_spec)
        return out

    def on_form_finished(self, msg: Incoming, form: FormState, spec: FormSpec) -> list[Outgoing]:
        """A finished change form hands its date to the reminders; a flow offers its next step."""
        if spec.offer is not None:
            offer = spec.offer
            return [self._reply(msg, offer.text, [Choice(label=offer.label, value=offer.command)])]
        if spec.kind is not FormKind.CHANGE or self.reminders is None:
            return []
        change_type = form.values.get("change_type", {}).get("value")
        raw_day = form.values.get("change_date", {}).get("value")
        what = what_from_form(str(change_type))
        if what is None or not raw_day:
            return []
        day = date.fromisoformat(str(raw_day))
        return self.reminders.schedule_change(Owner.of(msg), what, day, self.clock())

    def _form(self, state: ConversationState) -> FormState | None:
        if state.form is None:
            return None
        try:
            form = FormState.model_validate(state.form)
        except ValidationError:
            logger.warning("discarding unreadable form state")
            return None
        return form if form.form_id in self.forms.forms else None

    def _form_again(self, msg: Incoming, state: ConversationState) -> list[Outgoing]:
        form = None if msg.chat.kind is ChatKind.GROUP else self._form(state)
        if form is None:
            return []
        return [self._from_prompt(msg, p) for p in self.forms.again(form)]

    def _faq_text(self, text: str) -> SideAnswer:
        match = self.retriever.match(text)
        if match.verdict is Verdict.ANSWER and match.entry_id:
            return SideAnswer(self.render_entry(match.entry_id))
        return SideAnswer(None, [s.title for s in match.suggestions])

    def _group_pointer(self, msg: Incoming) -> Outgoing:
        return Outgoing(
            chat=msg.chat,
            text=self.replies.group_pointer,
            deep_link="filing",
            mention_user_id=msg.user_id,
            mention_user_name=msg.user_name or None,
        )

    @staticmethod
    def _who(msg: Incoming) -> Who:
        return Who(channel=msg.chat.channel, user_id=msg.user_id)

    @staticmethod
    def _from_prompt(msg: Incoming, prompt: Prompt) -> Outgoing:
        return Outgoing(
            chat=msg.chat,
            text=prompt.text,
            choices=list(prompt.choices),
            document=prompt.document,
            for_user_id=msg.user_id,
        )

    # ---- helpers -------------------------------------------------------------------------

    def _load_state(self, msg: Incoming) -> ConversationState:
        raw = self.storage.sessions.load(msg.chat.channel, msg.chat.chat_id, msg.user_id)
        if raw is None:
            return ConversationState()
        try:
            return ConversationState.model_validate_json(raw)
        except ValidationError:
            # A state written by an older version: start fresh rather than fail every message.
            logger.warning("discarding unreadable conversation state")
            return ConversationState()

    def _pii_warning(self, msg: Incoming) -> Outgoing:
        mention = f"@{msg.user_name} " if msg.user_name else ""
        return Outgoing(
            chat=msg.chat,
            text=self.replies.group_pii_warning.format(mention=mention),
            mention_user_id=msg.user_id,
            mention_user_name=msg.user_name or None,
            delete_message_id=msg.message_id,
        )

    @staticmethod
    def _reply(msg: Incoming, text: str, choices: list[Choice] | None = None) -> Outgoing:
        return Outgoing(
            chat=msg.chat, text=text, choices=list(choices or []), for_user_id=msg.user_id
        )
