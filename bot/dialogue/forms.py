"""Forms: starts, continues, corrects and finishes forms and flows for one user.

It owns the dialogue's rules of conversation (one question at a time, interruptions, /back,
/skip, /edit, /cancel, /status, confirm, /export) on top of the pure runner, and keeps each
filing's answers in the filings table after every accepted answer.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.asking import asks, is_question_form
from bot.content import conversations_dir, load_yaml
from bot.dialogue import runner
from bot.dialogue.change import explain_change
from bot.dialogue.models import FormKind, FormSpec, FormState, Phase, SlotSpec
from bot.dialogue.precheck import build_report, render_report
from bot.dialogue.runner import Prompt
from bot.dialogue.slots import Answer
from bot.dialogue.texts import DialogueTexts
from bot.errors import ContentError, InputError
from bot.messages import Choice, Document
from bot.storage.base import FilingRow, FilingStore

_MAX_ROW_ID = 2**63  # SQLite integers are 64-bit: a larger id is no row (and no query)

# At a prompt, words no answer to a choice, a name, a number or an address holds: a reply
# with one of them is a question even without a question mark (「阿里云初审一般几天」,
# 「护照怎么办理」, 「吗」 before an emoji), traditional forms too.
_ASKING = (
    r"[？?]|[吗嗎]|多少|几天|幾天|几个|幾個|怎么|怎麼|咋|为什么|為什麼|为啥|為啥"
    r"|哪家|哪个|哪個|哪些|哪里|哪裡|哪儿|哪种|哪種|区别|區別|用不用|要不要|需不需要|能不能"
    r"|可不可以|是不是|有没有|有沒有|会不会|會不會|行不行|多久|多长时间|多長時間"
    r"|怎样|怎樣"  # 「公安备案不做会怎样」
)
# 「A 还是 B」 asks which, where a name or an address is wanted; at a choice 「还是个人吧」 and
# 「我还是选个人」 are answers.
_EITHER_OR = re.compile(r".(?:还是|還是).")
# Words that name what a question is about (「以个人名义备案需要提供什么文件」,「公司注销流程」)
# but also occur in site names and descriptions (「什么值得买」).
_TOPIC = r"什么|什麼|甚麼|啥|流程|如何"
_ASKING_WORDS = re.compile(f"{_ASKING}|{_TOPIC}")
_ASKING_IN_NAME = re.compile(_ASKING)
# Asking what to write in the field is a question wherever it is typed.
_ABOUT_THE_FIELD = re.compile(r"(?:写|填|寫)(?:什么|什麼|甚麼|啥|哪)")


@dataclass(frozen=True)
class SideAnswer:
    """What the FAQ says to a question asked at a prompt: an answer, or what may be related."""

    text: str | None
    related: list[str] = field(default_factory=list)


FaqLookup = Callable[[str], SideAnswer]


@dataclass(frozen=True)
class Who:
    """The user a forms call is for."""

    channel: str
    user_id: str


@dataclass
class FormResult:
    """Replies, the form state to keep (None: no form running), and a form that just ended."""

    prompts: list[Prompt]
    form: FormState | None
    finished: FormState | None = None
    finished_spec: FormSpec | None = field(default=None, repr=False)


def _without_trailing_symbols(text: str) -> str:
    """「能讲一下吗🙏」 ends in 吗 as much as 「能讲一下吗」 does."""
    end = len(text)
    while end and (text[end - 1].isspace() or unicodedata.category(text[end - 1])[0] == "S"):
        end -= 1
    return text[:end]


def _as_question(slot: SlotSpec, text: str, faq: FaqLookup) -> SideAnswer | None:
    """What the FAQ says to a reply that is a question at this slot's prompt; None for an
    answer (right or wrong) to the prompt."""
    if is_question_form(_without_trailing_symbols(text)) or _ABOUT_THE_FIELD.search(text):
        return faq(text)
    if not slot.choices and _EITHER_OR.search(text):
        return faq(text)
    # A description may say 「分享怎么学编程」 and a site name 「什么值得买」: there a question
    # word makes a question only with more evidence, the name's stricter words or the FAQ's.
    sure = {"text": None, "site_name": _ASKING_IN_NAME}.get(slot.validator or "", _ASKING_WORDS)
    if sure is not None and sure.search(text):
        return faq(text)
    # 「个人备案要准备什么」 at a description is a question the FAQ knows, so one here too; and
    # a person's name is never a filing topic, so a reply at a name prompt that the FAQ can
    # answer is a request for that answer (「个人备案材料清单发一下」), not a name.
    if _ASKING_WORDS.search(text) or slot.validator == "person_name":
        found = faq(text)
        if found.text is not None:
            return found
    return None


def load_forms(root: Path | None = None) -> dict[str, FormSpec]:
    """Every form and flow under conversations/forms and conversations/flows."""
    root = root or conversations_dir()
    forms: dict[str, FormSpec] = {}
    for path in sorted([*root.glob("forms/*.yaml"), *root.glob("flows/*.yaml")]):
        spec = load_yaml(path, FormSpec)
        if spec.id in forms:
            raise ContentError(f"{path}: form id {spec.id!r} is used twice")
        forms[spec.id] = spec
    return forms


class Forms:
    """Drives forms for users; synchronous and channel-neutral."""

    def __init__(
        self,
        *,
        forms: dict[str, FormSpec],
        texts: DialogueTexts,
        filings: FilingStore,
        today: Callable[[], date],
    ) -> None:
        self.forms = forms
        self.texts = texts
        self.filings = filings
        self.today = today

    # ---- starting ----------------------------------------------------------------------

    def trigger(self, text: str) -> str | None:
        """The form or flow whose trigger words the text contains, if any."""
        folded = text.strip().casefold()
        for spec in self.forms.values():
            if any(t.casefold() in folded for t in spec.triggers):
                return spec.id
        return None

    def start(
        self, who: Who, form_id: str, current: FormState | None, args: str = ""
    ) -> FormResult:
        """/filing and friends: resume, choose among saved filings, or start a new one."""
        spec = self.forms[form_id]
        if current is not None and current.form_id == form_id and not args:
            return self._resume(spec, current)
        if spec.kind is FormKind.FLOW:
            return self._begin(spec, FormState(form_id=form_id), spec.intro)
        open_rows = [
            r
            for r in self.filings.of_user(who.channel, who.user_id, form_id)
            if r.status != "checked"
        ]
        if args.startswith("resume"):
            row = self._row(who, args.removeprefix("resume").strip())
            if row is not None and row.form_id == form_id:
                state = (
                    FormState.model_validate(row.data)
                    if row.data
                    else FormState(form_id=form_id, filing_id=row.id)
                )
                return self._resume(spec, state)
        if args != "new" and open_rows:
            choices = [
                Choice(
                    label=self.texts.continue_filing.format(label=r.label),
                    value=f"/{form_id} resume {r.id}",
                )
                for r in open_rows[-5:]
            ]
            choices.append(Choice(label=self.texts.new_filing, value=f"/{form_id} new"))
            text = self.texts.which_filing.format(count=len(open_rows))
            return FormResult([Prompt(text, choices)], current)
        filing_id = self.filings.create(who.channel, who.user_id, form_id, spec.title)
        state = FormState(form_id=form_id, filing_id=filing_id)
        return self._begin(spec, state, spec.intro)

    def start_from(self, who: Who, form_id: str, text: str) -> FormResult:
        """Start a flow with the answers a report already holds (「说网站名称不符合要求」)."""
        spec = self.forms[form_id]
        state = FormState(form_id=form_id)
        known = []
        while (slot := runner.next_slot(spec, state)) is not None:
            choice = runner.named_choice(slot, text)
            if choice is None:
                break
            runner.store(state, slot, Answer(value=choice.value, shown=choice.label))
            known.append(f"{slot.label}：{choice.label}")
        if not known:
            return self._begin(spec, state, spec.intro)
        head = Prompt(self.texts.understood.format(answers="；".join(known)))
        if runner.next_slot(spec, state) is None:
            done = self._complete(who, spec, state)
            done.prompts.insert(0, head)
            return done
        return FormResult([head, *self._next(spec, state)], state)

    def _row(self, who: Who, raw_id: str) -> FilingRow | None:
        # isdecimal, not isdigit: int() refuses "²".
        if not raw_id.isdecimal() or int(raw_id) >= _MAX_ROW_ID:
            return None
        return self.filings.get(who.channel, who.user_id, int(raw_id))

    def _begin(self, spec: FormSpec, state: FormState, intro: str) -> FormResult:
        prompts = [Prompt(intro.strip())] if intro.strip() else []
        return FormResult(prompts + self._next(spec, state), state)

    def _resume(self, spec: FormSpec, state: FormState) -> FormResult:
        head = Prompt(self.texts.resumed.format(title=spec.title))
        return FormResult([head, *self._next(spec, state)], state)

    # ---- answering ---------------------------------------------------------------------

    def handle(self, who: Who, state: FormState, text: str, faq: FaqLookup) -> FormResult:
        """One message while a form runs: an answer, a correction, or a question in between."""
        spec = self.forms[state.form_id]
        edit_name = runner.edit_request(text)
        # 「改域名要重新备案吗」 asks about a change; it does not ask to edit the domain answer.
        if (
            edit_name
            and not _ASKING_WORDS.search(edit_name.rstrip("?？"))
            and runner.find_slot(spec, state, edit_name)
        ):
            return self.edit(who, state, edit_name)
        if state.phase is Phase.CONFIRMING:
            return self._confirming(who, spec, state, text, faq)
        slot = runner.next_slot(spec, state)
        if slot is None:  # every slot answered: show the summary again
            return self._finish_or_confirm(who, spec, state)
        # A troubleshooting flow asks about the user's situation, and a question may be how
        # they tell it: 「一直没收到短信怎么办」 at 「哪种情况？」 is the option it names.
        named = (
            runner.named_choice(runner.fitted(slot, state), text)
            if spec.kind is FormKind.FLOW
            else None
        )
        # Elsewhere a question is never stored as an answer, even when the slot's validator
        # would take it or it names an option: 「名字里带英文字母可以吗」 is not a company name,
        # and 「抖音企业号认证要多少钱」 does not make the filer a company.
        if named is None and runner.exact_choice(slot, text) is None:
            asked = _as_question(slot, text, faq)
            if asked is not None:
                return FormResult(self._side_question(spec, state, slot, asked), state)
        try:
            result = (
                Answer(value=named.value, shown=named.label)
                if named is not None
                else runner.answer(slot, state, text, self.today())
            )
        except InputError as err:
            # What the prompt cannot take may be a question put without a question word
            # (「个人备案材料清单发一下」): when the FAQ knows the answer, that is the reply.
            if slot.choices or asks(text):
                found = faq(text)
                if found.text is not None:
                    return FormResult(self._side_question(spec, state, slot, found), state)
            return FormResult([self._invalid(spec, state, slot, text, err)], state)
        runner.store(state, slot, result)
        prompts = [Prompt(result.note)] if result.note else []
        chosen = next((c for c in slot.choices if c.value == result.value), None)
        if chosen is not None and chosen.note:
            prompts.append(Prompt(chosen.note.strip()))
        self._save(who, spec, state)
        follow = self._next(spec, state)
        if not follow:
            return self._finish_or_confirm(who, spec, state, prompts)
        return FormResult(prompts + follow, state)

    def _invalid(
        self, spec: FormSpec, state: FormState, slot: SlotSpec, text: str, err: InputError
    ) -> Prompt:
        """What was wrong, one example (unless the reason gives one) and the question, short."""
        again = runner.ask(spec, state, slot, self.texts)
        question = again.text.splitlines()[0]
        if slot.choices:
            typed = text.strip()
            count = len(again.choices)
            reason = (
                self.texts.choice_out_of_range.format(number=typed, count=count)
                if typed.isdigit()
                else self.texts.choice_invalid
            )
        else:
            example = err.example or runner.fitted(slot, state).example
            reason = err.reason
            if "例如" not in reason:
                reason += "\n" + self.texts.example.format(example=example)
        text = self.texts.invalid.format(reason=reason, question=question)
        return Prompt(text, again.choices)

    def _side_question(
        self, spec: FormSpec, state: FormState, slot: SlotSpec, found: SideAnswer
    ) -> list[Prompt]:
        if found.text is not None:
            head = found.text
        else:
            related = (
                self.texts.question_related.format(titles="」「".join(found.related))
                if found.related
                else ""
            )
            head = self.texts.question_unsure.format(label=slot.label, related=related)
        return [Prompt(head), self._back_to(spec, state, slot)]

    def _back_to(self, spec: FormSpec, state: FormState, slot: SlotSpec) -> Prompt:
        again = runner.ask(spec, state, slot, self.texts)
        return Prompt(self.texts.back_to_question.format(question=again.text), again.choices)

    def again(self, state: FormState) -> list[Prompt]:
        """The question the form waits on, asked again after a reply about something else
        (/help in the middle of the form), so the form carries on from there."""
        spec = self.forms[state.form_id]
        if state.phase is Phase.CONFIRMING:
            return [self._confirm_prompt()]
        slot = runner.next_slot(spec, state)
        return [] if slot is None else [self._back_to(spec, state, slot)]

    def _next(self, spec: FormSpec, state: FormState) -> list[Prompt]:
        slot = runner.next_slot(spec, state)
        if slot is None:
            return []
        prompts = []
        if slot.personal and not state.notice_shown:
            state.notice_shown = True
            prompts.append(Prompt(self.texts.privacy_notice.strip()))
        prompts.append(runner.ask(spec, state, slot, self.texts))
        return prompts

    def _confirming(
        self, who: Who, spec: FormSpec, state: FormState, text: str, faq: FaqLookup
    ) -> FormResult:
        folded = text.strip()
        if folded in {self.texts.summary_confirm, "确认", "确认无误", "1", "是", "对"}:
            return self._complete(who, spec, state)
        if folded in {self.texts.summary_edit, "2", "修改"}:
            names = "、".join(s.label for s in runner.applicable(spec, state))
            return FormResult([Prompt(self.texts.edit_which.format(names=names))], state)
        # Nothing typed at the summary can be stored, so whatever the FAQ can answer is
        # answered (「个人备案材料清单发一下」 has no question word), then the confirm prompt.
        if (answer := faq(text).text) is not None:
            return FormResult([Prompt(answer), self._confirm_prompt()], state)
        return FormResult([self._confirm_prompt()], state)

    def _confirm_prompt(self) -> Prompt:
        choices = [
            Choice(label=self.texts.summary_confirm, value=self.texts.summary_confirm),
            Choice(label=self.texts.summary_edit, value=self.texts.summary_edit),
        ]
        return Prompt(self.texts.confirm_prompt, choices)

    def _finish_or_confirm(
        self, who: Who, spec: FormSpec, state: FormState, before: list[Prompt] | None = None
    ) -> FormResult:
        before = before or []
        # Only a filing has a summary to confirm; a change or a flow ends at its last answer.
        if spec.kind is not FormKind.FILING:
            done = self._complete(who, spec, state)
            done.prompts[:0] = before
            return done
        state.phase = Phase.CONFIRMING
        self._save(who, spec, state)
        summary = "\n".join([self.texts.summary_head, *runner.summary_lines(spec, state)])
        return FormResult([*before, Prompt(summary), self._confirm_prompt()], state)

    def _complete(self, who: Who, spec: FormSpec, state: FormState) -> FormResult:
        state.phase = Phase.DONE
        if spec.kind is FormKind.FLOW:
            known = runner.facts(state.values)
            outcome = next(o for o in spec.outcomes if runner.holds(o.when, known))
            text = f"{outcome.text.strip()}\n来源：{outcome.source}"
            return FormResult([Prompt(text)], None, finished=state, finished_spec=spec)
        if spec.kind is FormKind.CHANGE:
            text = explain_change(state.values, self.today())
        else:
            text = render_report(build_report(state.values, self.today()))
        self._save(who, spec, state, status="checked")
        return FormResult([Prompt(text)], None, finished=state, finished_spec=spec)

    # ---- corrections and commands -----------------------------------------------------

    def back(self, who: Who, state: FormState) -> FormResult:
        """/back: undo the last answer and ask it again."""
        spec = self.forms[state.form_id]
        if runner.go_back(state) is None:
            return FormResult(
                [Prompt(self.texts.nothing_to_go_back_to), *self._next(spec, state)], state
            )
        self._save(who, spec, state)
        return FormResult(self._next(spec, state), state)

    def skip(self, who: Who, state: FormState) -> FormResult:
        """/skip: leave an optional question empty."""
        spec = self.forms[state.form_id]
        slot = runner.next_slot(spec, state)
        if slot is None or state.phase is not Phase.ASKING:
            return FormResult([self._confirm_prompt()], state)
        if not slot.optional:
            text = self.texts.cannot_skip.format(label=slot.label, help=slot.help)
            return FormResult(
                [Prompt(text.strip()), runner.ask(spec, state, slot, self.texts)], state
            )
        state.skipped.append(slot.name)
        self._save(who, spec, state)
        head = Prompt(self.texts.skipped.format(label=slot.label))
        follow = self._next(spec, state) or self._finish_or_confirm(who, spec, state).prompts
        return FormResult([head, *follow], state)

    def edit(self, who: Who, state: FormState, name: str) -> FormResult:
        """/edit 手机号 or "改一下域名": ask that question again, keep the rest."""
        spec = self.forms[state.form_id]
        names = "、".join(s.label for s in runner.applicable(spec, state))
        if not name.strip():
            return FormResult([Prompt(self.texts.edit_which.format(names=names))], state)
        slot = runner.find_slot(spec, state, name)
        if slot is None:
            return FormResult(
                [Prompt(self.texts.edit_unknown.format(name=name, names=names))], state
            )
        # Every slot before the current one is answered, so the edited slot becomes the next
        # question, and after it the form continues where it was.
        runner.unanswer(state, slot.name)
        self._save(who, spec, state)
        return FormResult(self._next(spec, state), state)

    def status(self, who: Who, state: FormState | None) -> Prompt:
        """/status: which form, progress, the next question; or what paused filings are kept."""
        if state is None:
            return self._kept(who)
        spec = self.forms[state.form_id]
        label = self._label(spec, state)
        if state.phase is Phase.CONFIRMING:
            return Prompt(self.texts.status_confirming.format(title=spec.title, label=label))
        done, total = runner.progress(spec, state)
        slot = runner.next_slot(spec, state)
        return Prompt(
            self.texts.status.format(
                title=spec.title,
                label=label,
                done=done,
                total=total,
                next=runner.fitted(slot, state).prompt.strip().splitlines()[0]
                if slot
                else "（无）",
            )
        )

    def _kept(self, who: Who) -> Prompt:
        kept = []
        for row in self.filings.of_user(who.channel, who.user_id):
            if row.status == "checked" or not row.data or row.form_id not in self.forms:
                continue
            spec, saved = self.forms[row.form_id], FormState.model_validate(row.data)
            done, total = runner.progress(spec, saved)
            line = self.texts.status_kept_line.format(label=row.label, done=done, total=total)
            kept.append(line)
        if not kept:
            return Prompt(self.texts.status_none)
        return Prompt(self.texts.status_kept.format(lines="\n".join(kept)))

    def cancel(self, who: Who, state: FormState) -> FormResult:
        """/cancel: stop asking; the answers stay until /forget."""
        spec = self.forms[state.form_id]
        self._save(who, spec, state, status="paused")
        return FormResult([Prompt(self.texts.cancelled.format(title=spec.title))], None)

    def export(self, who: Who, state: FormState | None, args: str = "") -> list[Prompt]:
        """/export: a filing as a Markdown checklist and a JSON file (personal data masked)."""
        rows = [r for r in self.filings.of_user(who.channel, who.user_id) if r.data]
        wanted = int(args) if args.isdecimal() else (state.filing_id if state else None)
        row = next((r for r in rows if r.id == wanted), None)
        if row is None and len(rows) > 1:
            choices = [Choice(label=r.label, value=f"/export {r.id}") for r in rows[-8:]]
            return [Prompt(self.texts.which_filing.format(count=len(rows)), choices)]
        row = row or (rows[0] if rows else None)
        if row is None:
            return [Prompt(self.texts.status_none)]
        saved = FormState.model_validate(row.data)
        spec = self.forms[saved.form_id]
        lines = [f"# {spec.title}：{row.label}", "", *runner.summary_lines(spec, saved)]
        if saved.form_id == "filing" and saved.phase is Phase.DONE:
            lines += ["", render_report(build_report(saved.values, self.today()))]
        markdown = "\n".join(lines)
        payload = {
            "filing_id": row.id,
            "form": saved.form_id,
            "label": row.label,
            "status": row.status,
            "answers": {
                k: {"value": v["value"], "shown": v["shown"]} for k, v in saved.values.items()
            },
        }
        document = Document(
            filename=f"beian-{row.id}.json",
            content=json.dumps(payload, ensure_ascii=False, indent=2).encode(),
            mime_type="application/json",
        )
        return [Prompt(markdown, document=document)]

    # ---- persistence ----------------------------------------------------------------------

    def _label(self, spec: FormSpec, state: FormState) -> str:
        for name in ("site_name", "domains", "company_name"):
            if name in state.values:
                return str(state.values[name]["shown"])
        return self.texts.unnamed.format(number=state.filing_id) if state.filing_id else spec.title

    def _save(
        self, who: Who, spec: FormSpec, state: FormState, status: str = "collecting"
    ) -> None:
        if state.filing_id is None:
            return
        self.filings.save(
            who.channel,
            who.user_id,
            state.filing_id,
            data=state.model_dump(mode="json"),
            label=self._label(spec, state),
            status=status,
        )
