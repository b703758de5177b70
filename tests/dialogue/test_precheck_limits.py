"""Every pre-check finding on each side of its limit, through `precheck.findings`.

A case is a valid base record and one answer changed: on the `hit` side the finding is in
the report, on the `miss` side it is not. Province rules come from knowledge/rules/provinces.yaml
(each province the data names for a rule gets its case), pre-approval words from
knowledge/rules/pre_approval.yaml, and a finding is recognised by its texts in
conversations/precheck.yaml. `test_every_finding_has_a_case` fails for a finding added to
precheck.yaml without a case here.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache, partial
from typing import Any, get_args

import pytest

from bot.dialogue import precheck
from bot.dialogue.forms import load_forms
from bot.dialogue.pre_approval import load_pre_approval
from bot.dialogue.precheck import Finding, Level, findings, load_precheck_texts
from bot.dialogue.rules import FlagRule, Province, SubjectType, load_province_rules

ABSENT = object()  # the answer was never given (the question was not asked)


def answer(value: Any, *warnings: str) -> dict[str, Any]:
    return {"value": value, "shown": str(value), "warnings": list(warnings)}


def _province(code: str) -> Province:
    return load_province_rules().provinces[code]


def personal(province: str = "guangdong") -> dict[str, Any]:
    """A personal filing with no blocking problem (tests/dialogue/test_dialogue.py PERSONAL)."""
    name = _province(province).name
    values = {
        "subject_type": "personal",
        "identity": "mainland",
        "province": province,
        "server_location": "mainland",
        "provider": "tencent",
        "server_bought": 365,
        "server_days_left": 200,
        "owner_id": {"masked": "440***********0018", "province": name, "age": 36},
        "domain_holder": "same",
        "domain_real_name": "done",
        "site_name": "张三的读书笔记",
        "service_content": "blog",
        "special_industry": "none",
        "documents_ready": "ready",
        "prior_filing": "none",
    }
    return {key: answer(value) for key, value in values.items()}


def enterprise(province: str = "guangdong") -> dict[str, Any]:
    """A company filing, the owners being the legal representative, nothing missing."""
    values = {
        "subject_type": "enterprise",
        "foreign_company": "mainland",
        "province": province,
        "server_location": "mainland",
        "provider": "tencent",
        "server_bought": 730,
        "server_days_left": 300,
        "credit_code": {"code": "91350100M000100Y43", "province": "福建"},
        "subject_owner_is_legal_rep": "yes",
        "site_owner_is_legal_rep": "yes",
        "domain_holder": "same",
        "domain_real_name": "done",
        "site_name": "示例科技产品介绍",
        "service_content": "corporate",
        "special_industry": "none",
        "documents_ready": "ready",
        "prior_filing": "none",
    }
    return {key: answer(value) for key, value in values.items()}


@dataclass(frozen=True)
class Case:
    """`finding` is produced with `name` = `hit` and not with `name` = `miss`."""

    finding: str
    id: str
    name: str
    hit: Any
    miss: Any
    base: Callable[[], dict[str, Any]] = personal
    also: dict[str, Any] = field(default_factory=dict)  # changed on both sides
    # A province rule set to this value on both sides (a rule the data names no province for).
    rules: dict[str, FlagRule] = field(default_factory=dict)


def _values(case: Case, side: Any) -> dict[str, Any]:
    values = case.base()
    for name, value in {**case.also, case.name: side}.items():
        if value is ABSENT:
            values.pop(name, None)
        else:
            values[name] = value if _is_answer(value) else answer(value)
    return values


def _is_answer(value: Any) -> bool:
    return isinstance(value, dict) and "warnings" in value


def _where(predicate: Callable[[Province], object]) -> list[Province]:
    return [p for p in load_province_rules().provinces.values() if predicate(p)]


def _without(predicate: Callable[[Province], object]) -> Province:
    """A province the rule does not apply in (for the `miss` side of a province rule)."""
    return next(p for p in load_province_rules().provinces.values() if not predicate(p))


def _other_name(province: Province) -> str:
    return "北京" if province.name != "北京" else "上海"


def _id(age: int, province: str) -> dict[str, Any]:
    return {"masked": "440***********0018", "province": province, "age": age}


def _refusals() -> list[tuple[Province, str, int]]:
    """(province, form subject type, age) for every 「未满 N 岁不受理」 in the province data.

    An other organisation (事业单位, 社会团体) files as a 单位: a limit for `enterprise` holds
    for it too.
    """
    return [
        (p, subject, limit.refused_under)
        for p in _where(lambda p: p.rules.min_age.value)
        for limit in p.rules.min_age.value or []
        if limit.refused_under
        for stored in limit.subject_types
        for subject in ({"enterprise": ("enterprise", "other")}.get(stored) or (stored,))
    ]


def _province_cases() -> list[Case]:
    cases = []
    local_only = _where(lambda p: p.rules.local_id_only.value)
    permit = _where(
        lambda p: not p.rules.local_id_only.value and p.rules.residence_permit_for_outsiders.value
    )
    neither = _where(
        lambda p: (
            not p.rules.local_id_only.value and not p.rules.residence_permit_for_outsiders.value
        )
    )
    for key, provinces in (
        ("local_id_only", local_only),
        ("residence_permit", permit),
        ("other_province_id", neither),
    ):
        assert provinces, key
        for p in provinces:
            cases.append(
                Case(
                    key,
                    f"{p.code}-id-from-other-province",
                    "owner_id",
                    _id(30, _other_name(p)),
                    _id(30, p.name),
                    base=partial(personal, p.code),
                )
            )
    for p in load_province_rules().provinces.values():  # the age limit is 18 everywhere
        cases.append(
            Case("minor", f"{p.code}-17-18", "owner_id", _id(17, p.name), _id(18, p.name),
                 base=partial(personal, p.code))
        )  # fmt: skip
    cases.append(
        Case("minor", "enterprise-owner-17-18", "owner_id_enterprise",
             _id(17, "广东"), _id(18, "广东"), base=enterprise)
    )  # fmt: skip
    # Under an age a province refuses (江苏 16, 广东 16 for 单位) the ⚠ becomes a ❌.
    for p, subject, age in _refusals():
        name = "owner_id" if subject == "personal" else "owner_id_enterprise"
        base = personal if subject == "personal" else enterprise
        also = {"subject_type": subject}
        below, at = _id(age - 1, p.name), _id(age, p.name)
        cases += [
            Case("minor_refused", f"{p.code}-{subject}-{age - 1}-{age}", name, below, at,
                 base=partial(base, p.code), also=also),
            Case("minor", f"{p.code}-{subject}-{age}-{age - 1}", name, at, below,
                 base=partial(base, p.code), also=also),
        ]  # fmt: skip
    for key, value, hit in (
        ("owner_must_be_legal_rep", "must", "no"),
        ("owner_must_check", "must", "unknown"),
        ("owner_must_check", "must", ABSENT),
        ("subject_owner_letter", "letter", "no"),
        ("subject_owner_letter", "letter", "unknown"),
    ):
        provinces = [
            p
            for p in load_province_rules().provinces.values()
            if p.rules.owner_must_be_legal_rep.value == value
        ]
        assert provinces, key
        for p in provinces:
            name = "absent" if hit is ABSENT else str(hit)
            cases.append(
                Case(key, f"{p.code}-{name}-yes", "subject_owner_is_legal_rep", hit, "yes",
                     base=partial(enterprise, p.code))
            )  # fmt: skip
    for p in _where(lambda p: p.rules.site_owner_letter_if_not_legal_rep.value):
        cases.append(
            Case("authorisation_missing", f"{p.code}-missing-ready", "auth_letter", "missing",
                 "ready", base=partial(enterprise, p.code),
                 also={"site_owner_is_legal_rep": "no"})
        )  # fmt: skip
        cases.append(
            Case("authorisation_missing", f"{p.code}-site-owner-no-yes",
                 "site_owner_is_legal_rep", "no", "yes", base=partial(enterprise, p.code),
                 also={"auth_letter": "missing"})
        )  # fmt: skip
    for p in _where(lambda p: p.rules.site_owner_letter_if_not_legal_rep.value is None):
        cases.append(
            Case("authorisation_check", f"{p.code}-no-yes", "site_owner_is_legal_rep", "no",
                 "yes", base=partial(enterprise, p.code))
        )  # fmt: skip
    # Rules of a province: the province answered is the one field changed.
    for key, rule, base in (
        ("party_building", lambda p: p.rules.party_building_certificate.value, enterprise),
        ("remark_declaration", lambda p: p.rules.personal_remark_declaration.value, personal),
        ("company_landline", lambda p: p.rules.company_landline.value, enterprise),
        ("office_phone", lambda p: p.rules.office_phone_differs_from_mobile.value, enterprise),
    ):
        provinces, plain = _where(rule), _without(rule)
        assert provinces, key
        for p in provinces:
            cases.append(Case(key, f"{p.code}-{plain.code}", "province", p.code, plain.code,
                              base=base))  # fmt: skip
    # Personal filings get neither unit-phone finding, wherever they are.
    for key, rule in (
        ("company_landline", lambda p: p.rules.company_landline.value),
        ("office_phone", lambda p: p.rules.office_phone_differs_from_mobile.value),
    ):
        for p in _where(rule):
            cases.append(
                Case(key, f"{p.code}-enterprise-personal", "subject_type", "enterprise",
                     "personal", base=partial(enterprise, p.code))
            )  # fmt: skip
    # No province's data names a local-mobile rule yet (facts 32): the rule is set for the case.
    mobile = _province("guangdong").rules.local_mobile_required

    def with_mobile(value: bool | None) -> dict[str, FlagRule]:
        return {"local_mobile_required": mobile.model_copy(update={"value": value})}

    cases += [
        Case("local_mobile", "rule-true-false", "province", "guangdong", "guangdong",
             rules=with_mobile(True)),
        Case("local_mobile_check", "rule-unknown", "province", "guangdong", "guangdong",
             rules=with_mobile(None)),
    ]  # fmt: skip
    return cases


def _server_cases() -> list[Case]:
    cases = [
        Case("overseas_server", "overseas-mainland", "server_location", "overseas", "mainland"),
    ]
    # Whose rule it is (facts 26): Tencent 90 days bought and 30 left, Huawei 90 bought.
    for provider in ("tencent", "huawei"):
        cases.append(
            Case("server_too_short", f"{provider}-89-90", "server_bought", 89, 90,
                 also={"provider": provider})
        )  # fmt: skip
    for provider in ("aliyun", "baidu", "other"):
        cases.append(
            Case("server_too_short_elsewhere", f"{provider}-89-90", "server_bought", 89, 90,
                 also={"provider": provider})
        )  # fmt: skip
    cases.append(
        Case("server_expiring", "tencent-29-30", "server_days_left", 29, 30,
             also={"provider": "tencent"})
    )  # fmt: skip
    for provider in ("huawei", "aliyun", "baidu", "other"):
        cases.append(
            Case("server_expiring_elsewhere", f"{provider}-29-30", "server_days_left", 29, 30,
                 also={"provider": provider})
        )  # fmt: skip
    for provider in ("tencent", "huawei", "aliyun", "baidu", "other"):
        cases.append(
            Case("server_expiring_soon", f"{provider}-59-60", "server_days_left", 59, 60,
                 also={"provider": provider})
        )  # fmt: skip
        cases.append(  # under 30 it is the stronger finding, not this one
            Case("server_expiring_soon", f"{provider}-30-29", "server_days_left", 30, 29,
                 also={"provider": provider})
        )  # fmt: skip
    return cases


def _subject_and_content_cases() -> list[Case]:
    cases = [
        Case("not_mainland_resident", "hmt-mainland", "identity", "hmt", "mainland"),
        Case("not_mainland_resident", "foreign-mainland", "identity", "foreign", "mainland"),
        Case("not_mainland_resident", "personal-enterprise", "subject_type", "personal",
             "enterprise", also={"identity": "hmt"}),
        Case("foreign_company", "foreign-mainland", "foreign_company", "foreign", "mainland",
             base=enterprise),
        Case("other_organisation", "other-enterprise", "subject_type", "other", "enterprise",
             base=enterprise),
        Case("answer_warning", "warning-none", "site_name",
             answer("张三的读书笔记", "网站名称太短"), answer("张三的读书笔记")),
        Case("domain_holder_different", "different-same", "domain_holder", "different", "same"),
        Case("domain_holder_unknown", "unknown-same", "domain_holder", "unknown", "same"),
        Case("domain_not_real_named", "none-done", "domain_real_name", "none", "done"),
        Case("domain_real_name_recent", "recent-done", "domain_real_name", "recent", "done"),
        Case("personal_forum", "forum-blog", "service_content", "forum", "blog"),
        Case("personal_forum", "personal-enterprise", "subject_type", "personal", "enterprise",
             also={"service_content": "forum"}),
        Case("personal_commercial", "shop-blog", "service_content", "shop", "blog"),
        Case("personal_commercial", "corporate-blog", "service_content", "corporate", "blog"),
        Case("personal_commercial", "personal-enterprise", "subject_type", "personal",
             "enterprise", also={"service_content": "shop"}),
        Case("pre_approval_missing", "missing-ready", "pre_approval", "missing", "ready"),
        Case("personal_interaction", "personal-enterprise", "subject_type", "personal",
             "enterprise"),
    ]  # fmt: skip
    for key, category in load_pre_approval().categories.items():
        for word in category.words:
            cases.append(
                Case("pre_approval_hint", f"{key}-{word}", "site_name", f"张三的{word}笔记",
                     "张三的读书笔记")
            )  # fmt: skip
        word = category.words[0]
        cases.append(  # the user chose the category: nothing to point out
            Case("pre_approval_hint", f"{key}-said-none-{key}", "special_industry", "none", key,
                 also={"site_name": f"张三的{word}笔记"})
        )  # fmt: skip
    return cases


CASES = [*_server_cases(), *_subject_and_content_cases(), *_province_cases()]


@cache
def _pattern(template: str) -> re.Pattern[str]:
    """A finding text's template as a regex: each {placeholder} stands for any text."""
    parts = re.split(r"\{[a-z_]+\}", template)
    return re.compile("(?s)" + "(.*?)".join(re.escape(part) for part in parts))


def is_finding(key: str, finding: Finding) -> bool:
    """`finding` was made from conversations/precheck.yaml's finding `key`."""
    text = load_precheck_texts().findings[key]
    return finding.level is Level(text.level) and all(
        _pattern(getattr(text, part)).fullmatch(getattr(finding, part))
        for part in ("problem", "rule", "fix")
    )


class _PatchedRules:
    """The province table with some rules set, for rules no province's data names yet."""

    def __init__(self, rules: dict[str, FlagRule]) -> None:
        self.table, self.rules = load_province_rules(), rules

    def find(self, text: str) -> Province | None:
        found = self.table.find(text)
        if found is None:
            return None
        return found.model_copy(update={"rules": found.rules.model_copy(update=self.rules)})


def _findings(case: Case, side: Any, monkeypatch: pytest.MonkeyPatch) -> list[Finding]:
    if case.rules:
        monkeypatch.setattr(precheck, "load_province_rules", lambda: _PatchedRules(case.rules))
    return findings(_values(case, side))


@pytest.mark.parametrize("case", CASES, ids=[f"{c.finding}[{c.id}]" for c in CASES])
def test_a_finding_on_each_side_of_its_limit(case: Case, monkeypatch: pytest.MonkeyPatch) -> None:
    hit = _findings(case, case.hit, monkeypatch)
    # Each finding of the report is recognised as exactly one of precheck.yaml's findings.
    for found in hit:
        keys = [key for key in load_precheck_texts().findings if is_finding(key, found)]
        assert len(keys) == 1, (found, keys)
    assert any(is_finding(case.finding, f) for f in hit), [f.problem for f in hit]
    if case.rules:  # the `miss` side of a patched rule: the other value of that rule
        (name, rule), *_ = case.rules.items()
        other = {True: False, None: False, False: True}[rule.value]
        case = Case(case.finding, case.id, case.name, case.miss, case.miss, case.base,
                    case.also, {name: rule.model_copy(update={"value": other})})  # fmt: skip
    missed = _findings(case, case.miss, monkeypatch)
    assert not any(is_finding(case.finding, f) for f in missed), [f.problem for f in missed]


def test_every_finding_has_a_case() -> None:
    defined = set(load_precheck_texts().findings)
    assert {case.finding for case in CASES} == defined


def test_the_base_records_have_no_blocking_finding() -> None:
    for base in (personal, enterprise):
        assert [f for f in findings(base()) if f.level is Level.BLOCKING] == []


@pytest.mark.parametrize(
    ("province", "subject", "age"),
    _refusals(),
    ids=[f"{p.code}-{s}-{a}" for p, s, a in _refusals()],
)
def test_an_age_a_province_refuses_is_a_blocking_problem(
    province: Province, subject: str, age: int
) -> None:
    base = personal if subject == "personal" else enterprise
    field_name = "owner_id" if subject == "personal" else "owner_id_enterprise"
    below = base(province.code) | {field_name: answer(_id(age - 1, province.name))}
    at = base(province.code) | {field_name: answer(_id(age, province.name))}
    below["subject_type"] = at["subject_type"] = answer(subject)
    assert any(f.level is Level.BLOCKING and "岁" in f.problem for f in findings(below))
    assert not any(f.level is Level.BLOCKING and "岁" in f.problem for f in findings(at))


def _age_rule_cases() -> list[tuple[Province, str]]:
    """(province, form subject type) for every province whose data has an age rule."""
    subjects = ("personal", "enterprise", "other")
    return [(p, s) for p in _where(lambda p: p.rules.min_age.value) for s in subjects]


@pytest.mark.parametrize(
    ("province", "subject"),
    _age_rule_cases(),
    ids=[f"{p.code}-{s}" for p, s in _age_rule_cases()],
)
def test_the_age_rule_is_said_in_chinese(province: Province, subject: str) -> None:
    base = personal if subject == "personal" else enterprise
    field_name = "owner_id" if subject == "personal" else "owner_id_enterprise"
    values = base(province.code) | {field_name: answer(_id(17, province.name))}
    values["subject_type"] = answer(subject)
    [minor] = [f for f in findings(values) if is_finding("minor", f)]
    assert not re.search(r"[A-Za-z]", minor.rule), minor.rule
    table = load_province_rules()
    for limit in province.rules.min_age.value or []:
        # Every limit says whom it is for, in the words the table gives each subject type.
        assert "、".join(table.subject_label(t) for t in limit.subject_types) in minor.rule
    assert "旧规定" in minor.rule  # both provinces' age rules are from the withdrawn table


def test_every_subject_type_has_a_label() -> None:
    table = load_province_rules()
    labels = [table.subject_label(t) for t in get_args(SubjectType)]
    assert all(re.fullmatch(r"[\u4e00-\u9fff]+", label) for label in labels), labels
    assert len(set(labels)) == len(labels)


def _internal_keys() -> set[str]:
    """Words that are keys, never text: subject types, province codes, providers, answers."""
    choices = {
        choice.value
        for spec in load_forms().values()
        for slot in spec.slots
        for choice in slot.choices
    }
    return {*get_args(SubjectType), *load_province_rules().provinces, *choices}


def test_no_finding_shows_an_internal_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """What the user reads is said in words: no stored key (enterprise, guangdong, tencent,
    none) is pasted into a finding, on either side of any case."""
    words = "|".join(sorted(map(re.escape, _internal_keys()), key=len, reverse=True))
    key = re.compile(rf"(?<![A-Za-z0-9_.])({words})(?![A-Za-z0-9_])", re.IGNORECASE)
    for case in CASES:
        for side in (case.hit, case.miss):
            for found in _findings(case, side, monkeypatch):
                for text in (found.problem, found.rule, found.fix):
                    assert not key.search(text), (case.finding, case.id, text)
