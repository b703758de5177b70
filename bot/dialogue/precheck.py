"""The pre-check report (预审报告): what a provider's first review would reject, and the fix.

This module only decides which findings apply to a filing's answers; every text lives in
conversations/precheck.yaml, and province rules (each with its source) in
knowledge/rules/provinces.yaml.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from functools import cache
from typing import Any

from pydantic import BaseModel, ConfigDict

from bot.content import conversations_dir, load_yaml
from bot.dialogue.pre_approval import hinted, load_pre_approval
from bot.dialogue.rules import (
    MinAgeRule,
    Province,
    Rule,
    load_province_rules,
    rule_subject_type,
)
from bot.workdays import APPROXIMATE_NOTE, add_workdays

SPECIAL_INDUSTRY_ANSWERS = {"ready", "missing"}


class Level(StrEnum):
    """A blocking problem stops the filing; a warning is a risk or a thing to prepare."""

    BLOCKING = "blocking"
    WARNING = "warning"


class Finding(BaseModel):
    """One problem: what, the rule behind it, the fix, and where the rule comes from."""

    level: Level
    problem: str
    # A warning about an answer (from its validator) carries no rule of its own.
    rule: str = ""
    fix: str = ""
    source: str = ""


class PrecheckTexts(BaseModel):
    """conversations/precheck.yaml."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    findings: dict[str, Finding]
    filing_types: dict[str, str]
    filing_type_source: str
    checklist: dict[str, str]
    report: dict[str, str]


@cache
def load_precheck_texts() -> PrecheckTexts:
    """Load conversations/precheck.yaml once."""
    return load_yaml(conversations_dir() / "precheck.yaml", PrecheckTexts)


class Estimate(BaseModel):
    """Expected dates for the two reviews, in mainland working days."""

    provider_by: tuple[date, date]
    bureau_by: tuple[date, date]
    approximate: bool
    note: str = ""


class Report(BaseModel):
    """Everything shown when a filing's data is confirmed."""

    findings: list[Finding]
    filing_type: str = ""  # which order to open: 首次备案, 新增网站, 接入备案
    checklist: list[str]
    estimate: Estimate


def _v(values: dict[str, Any], name: str) -> Any:
    answer = values.get(name)
    return None if answer is None else answer["value"]


def _province(values: dict[str, Any]) -> Province | None:
    code = _v(values, "province")
    return load_province_rules().find(str(code)) if code else None


def _finding(key: str, rule: Rule | None = None, /, **fields: object) -> Finding:
    """The finding `key` with its placeholders filled; `source: rule` takes the rule's source."""
    text = load_precheck_texts().findings[key]
    source = rule.source if text.source == "rule" and rule is not None else text.source
    return Finding(
        level=text.level,
        problem=text.problem.format(**fields),
        rule=text.rule.format(**fields),
        fix=text.fix.format(**fields),
        source=source,
    )


def findings(values: dict[str, Any]) -> list[Finding]:
    """Apply every pre-check rule to a filing's answers, blocking problems first."""
    province = _province(values)
    personal = _v(values, "subject_type") == "personal"
    out = [
        *_server_findings(values),
        *_subject_findings(values, personal),
        *_identity_findings(values, province, personal),
        *_owner_findings(values, province),
        *_domain_findings(values),
        *_content_findings(values, personal),
        *_province_notes(province, personal),
    ]
    for answer in values.values():
        out += [_finding("answer_warning", warning=w) for w in answer.get("warnings", [])]
    return sorted(out, key=lambda f: f.level is not Level.BLOCKING)


# Whose server rules are known (facts 26): Tencent 90 days bought and 30 left, Huawei 3
# months bought. For any other provider these are another provider's rules: a ⚠, not a ❌.
_MIN_BOUGHT = {"tencent": ("腾讯云", 90), "huawei": ("华为云", 90)}
_MIN_LEFT = {"tencent": ("腾讯云", 30)}
_PROVIDER_NAMES = {
    "aliyun": "阿里云",
    "tencent": "腾讯云",
    "huawei": "华为云",
    "baidu": "百度智能云",
}


def _server_findings(values: dict[str, Any]) -> list[Finding]:
    out = []
    if _v(values, "server_location") == "overseas":
        out.append(_finding("overseas_server"))
    provider = str(_v(values, "provider") or "")
    bought, left = _v(values, "server_bought"), _v(values, "server_days_left")
    if isinstance(bought, int) and bought < 90:
        out.append(_term_finding("server_too_short", bought, provider, _MIN_BOUGHT))
    if isinstance(left, int) and left < 30:
        out.append(_term_finding("server_expiring", left, provider, _MIN_LEFT))
    elif isinstance(left, int) and left < 60:  # reviews take 10-20 working days
        out.append(_finding("server_expiring_soon", days=left))
    return out


def _term_finding(
    key: str, days: int, provider: str, minimums: dict[str, tuple[str, int]]
) -> Finding:
    """A ❌ on the provider whose rule it is; elsewhere the `_elsewhere` ⚠ naming that rule."""
    if provider in minimums:
        name, minimum = minimums[provider]
        return _finding(key, days=days, provider=name, minimum=minimum)
    mine = _PROVIDER_NAMES.get(provider, "你的接入商")
    return _finding(f"{key}_elsewhere", days=days, provider=mine)


def _subject_findings(values: dict[str, Any], personal: bool) -> list[Finding]:
    out = []
    if personal and _v(values, "identity") in {"hmt", "foreign"}:
        out.append(_finding("not_mainland_resident"))
    if _v(values, "foreign_company") == "foreign":
        out.append(_finding("foreign_company"))
    if _v(values, "subject_type") == "other":
        out.append(_finding("other_organisation"))
    return out


def _identity_findings(
    values: dict[str, Any], province: Province | None, personal: bool
) -> list[Finding]:
    id_answer = _v(values, "owner_id") or _v(values, "owner_id_enterprise")
    if province is None or not isinstance(id_answer, dict):
        return []
    out = []
    rules = province.rules
    id_province, age = id_answer.get("province"), id_answer.get("age")
    names: dict[str, object] = {"province": province.name, "id_province": id_province}
    if personal and id_province and id_province != province.name:
        if rules.local_id_only.value:
            out.append(_finding("local_id_only", rules.local_id_only, **names))
        elif rules.residence_permit_for_outsiders.value:
            permit = rules.residence_permit_for_outsiders
            out.append(_finding("residence_permit", permit, **names))
        else:
            out.append(_finding("other_province_id", **names))
    if isinstance(age, int) and age < 18:
        out.append(_age_finding(rules.min_age, age, province.name, values))
    return out


def _age_finding(rule: MinAgeRule, age: int, province: str, values: dict[str, Any]) -> Finding:
    """❌ under an age the province refuses for this subject type (even an old rule, like
    local_id_only); ⚠ for any other age under 18, naming the province's limits."""
    subject = rule_subject_type(_v(values, "subject_type"))
    limits = _age_limits(rule) or load_precheck_texts().report["no_age_rule"]
    refusing = [limit for limit in rule.value or [] if limit.refuses(subject, age)]
    if not refusing:
        return _finding("minor", rule, age=age, province=province, limits=limits)
    minimum = max(limit.refused_under or 0 for limit in refusing)
    who = load_province_rules().subject_label(subject)
    fields = {"age": age, "province": province, "minimum": minimum, "subject": who}
    return _finding("minor_refused", rule, limits=limits, **fields)


def _age_limits(rule: MinAgeRule) -> str:
    """A province's age limits as the user reads them: 「个人、单位未满 16 岁不受理（旧规定）」.

    Each limit says whom it is for in the table's labels: the stored subject types are
    internal keys, and a limit without them reads as if it held for every filing.
    """
    label = load_province_rules().subject_label
    said = []
    for limit in rule.value or []:
        parts = []
        if limit.refused_under:
            parts.append(f"未满 {limit.refused_under} 岁不受理")
        if limit.certificate_under:
            parts.append(f"未满 {limit.certificate_under} 岁需要证明")
        who = "、".join(label(subject) for subject in limit.subject_types)
        said.append(who + "、".join(parts))
    # Like every rule of Tencent's withdrawn table, it is said to be the old rule (旧规定).
    return "；".join(said) + ("（旧规定）" if said and rule.deprecated else "")


def _owner_findings(values: dict[str, Any], province: Province | None) -> list[Finding]:
    """Who answers for the company: a ❌ only where the province's rule and an answer meet."""
    if province is None or _v(values, "subject_type") not in {"enterprise", "other"}:
        return []
    out, name = [], province.name
    owner_rule = province.rules.owner_must_be_legal_rep
    subject_owner = _v(values, "subject_owner_is_legal_rep")  # None: never asked
    if owner_rule.value == "must" and subject_owner == "no":
        out.append(_finding("owner_must_be_legal_rep", owner_rule, province=name))
    elif owner_rule.value == "must" and subject_owner != "yes":
        out.append(_finding("owner_must_check", owner_rule, province=name))
    elif owner_rule.value == "letter" and subject_owner != "yes":
        out.append(_finding("subject_owner_letter", owner_rule, province=name))
    if _v(values, "site_owner_is_legal_rep") == "no":
        letter = province.rules.site_owner_letter_if_not_legal_rep
        if letter.value and _v(values, "auth_letter") == "missing":
            out.append(_finding("authorisation_missing", letter, province=name))
        elif letter.value is None:
            out.append(_finding("authorisation_check", letter, province=name))
    return out


def _domain_findings(values: dict[str, Any]) -> list[Finding]:
    holder = {"different": "domain_holder_different", "unknown": "domain_holder_unknown"}
    real_name = {"none": "domain_not_real_named", "recent": "domain_real_name_recent"}
    keys = [
        holder.get(str(_v(values, "domain_holder"))),
        real_name.get(str(_v(values, "domain_real_name"))),
    ]
    return [_finding(key) for key in keys if key]


def _content_findings(values: dict[str, Any], personal: bool) -> list[Finding]:
    out = []
    content = _v(values, "service_content")
    if personal and content == "forum":
        out.append(_finding("personal_forum"))
    if personal and content in {"shop", "corporate"}:
        out.append(_finding("personal_commercial"))
    if _v(values, "pre_approval") == "missing":
        out.append(_finding("pre_approval_missing"))
    out += _pre_approval_hints(values)
    if personal:
        out.append(_finding("personal_interaction"))
    return out


def _pre_approval_hints(values: dict[str, Any]) -> list[Finding]:
    """Words of the site name, description or business scope that point to a pre-approval
    category the user said the site does not touch: a ⚠ with what to check."""
    if _v(values, "special_industry") != "none":
        return []
    said = [
        str(_v(values, name) or "") for name in ("site_name", "service_remark", "business_scope")
    ]
    table = load_pre_approval()
    out = []
    for key, word in hinted(said).items():
        category = table.categories[key]
        out.append(
            _finding(
                "pre_approval_hint",
                Rule(source=table.source),
                word=word,
                label=category.label,
                licence=category.licence,
            )
        )
    return out


def _province_notes(province: Province | None, personal: bool) -> list[Finding]:
    if province is None:
        return []
    rules, name, out = province.rules, province.name, []
    # A province's face-check rule is a line of the checklist, not a finding: nothing to fix.
    if rules.party_building_certificate.value:
        out.append(_finding("party_building", rules.party_building_certificate, province=name))
    declaration = rules.personal_remark_declaration
    if personal and declaration.value:
        out.append(
            _finding("remark_declaration", declaration, province=name, text=declaration.value)
        )
    mobile = rules.local_mobile_required
    if mobile.value:
        text = mobile.note or f"{name}要求负责人手机号为本省号码。"
        out.append(_finding("local_mobile", mobile, text=text))
    elif mobile.value is None:  # facts 32: "many provinces", none named for this one
        out.append(_finding("local_mobile_check", mobile))
    if not personal and rules.company_landline.value:
        out.append(_finding("company_landline", rules.company_landline, province=name))
    if not personal and rules.office_phone_differs_from_mobile.value:
        out.append(_finding("office_phone", rules.office_phone_differs_from_mobile, province=name))
    return out


def checklist(values: dict[str, Any]) -> list[str]:
    """The documents to prepare for this case."""
    texts = load_precheck_texts().checklist
    province = _province(values)
    personal = _v(values, "subject_type") == "personal"
    keys = ["personal_id"] if personal else ["licence", "legal_rep_id", "owner_id"]
    if not personal:
        keys += _authorisation_items(values, province)
    keys += ["phone", "face_rules"]
    items = [texts[key] for key in keys]
    if province and province.rules.face_check.value:
        items.append(
            texts["face_province"].format(
                province=province.name, text=province.rules.face_check.value
            )
        )
    id_answer = _v(values, "owner_id")
    outsider = isinstance(id_answer, dict) and id_answer.get("province") not in {
        None,
        province.name if province else None,
    }
    if personal and province and outsider and province.rules.residence_permit_for_outsiders.value:
        items.append(texts["residence_permit"].format(province=province.name))
    if _v(values, "pre_approval") in SPECIAL_INDUSTRY_ANSWERS:
        items.append(texts["pre_approval"])
    if province and province.rules.party_building_certificate.value:
        items.append(texts["party_building"])
    items += [texts["pledge"], texts["domain_certificate"]]
    return items


def _authorisation_items(values: dict[str, Any], province: Province | None) -> list[str]:
    """The 授权书 when a rule asks for it for this case, "if asked" when no source says."""
    if province is None:
        return ["authorisation_maybe"] if _v(values, "site_owner_is_legal_rep") == "no" else []
    rules = province.rules
    subject_owner_letter = rules.owner_must_be_legal_rep.value == "letter" and _v(
        values, "subject_owner_is_legal_rep"
    ) in {"no", "unknown"}
    site_owner = _v(values, "site_owner_is_legal_rep") == "no"
    if subject_owner_letter or (site_owner and rules.site_owner_letter_if_not_legal_rep.value):
        return ["authorisation"]
    return ["authorisation_maybe"] if site_owner else []


def estimate(values: dict[str, Any], today: date) -> Estimate:
    """Provider review 1-3 working days, then the bureau 5-20 (or the province's maximum)."""
    province = _province(values)
    bureau_max = province.rules.bureau_review_max_working_days.value if province else 20
    p_early, p_late = add_workdays(today, 1), add_workdays(today, 3)
    b_early, b_late = add_workdays(p_early.day, 5), add_workdays(p_late.day, bureau_max)
    approximate = any(x.approximate for x in (p_early, p_late, b_early, b_late))
    note = APPROXIMATE_NOTE.format(year=b_late.day.year) if approximate else ""
    return Estimate(
        provider_by=(p_early.day, p_late.day),
        bureau_by=(b_early.day, b_late.day),
        approximate=approximate,
        note=note,
    )


def build_report(values: dict[str, Any], today: date) -> Report:
    """Findings, checklist and date estimate for one confirmed filing."""
    prior = _v(values, "prior_filing")
    return Report(
        findings=findings(values),
        filing_type=load_precheck_texts().filing_types.get(str(prior), ""),
        checklist=checklist(values),
        estimate=estimate(values, today),
    )


def render_report(report: Report) -> str:
    """The report as chat text."""
    t = load_precheck_texts().report
    blocking = [f for f in report.findings if f.level is Level.BLOCKING]
    warnings = [f for f in report.findings if f.level is Level.WARNING]
    lines = [t["title"]]
    if blocking:
        lines.append(t["blocking"].format(count=len(blocking)))
        lines += [_finding_text(t, i, f) for i, f in enumerate(blocking, 1)]
    else:
        lines.append(t["no_blocking"])
    if warnings:
        lines.append(t["warnings"].format(count=len(warnings)))
        lines += [_finding_text(t, i, f) for i, f in enumerate(warnings, 1)]
    if report.filing_type:
        source = load_precheck_texts().filing_type_source
        lines += [
            "",
            t["filing_type"],
            report.filing_type,
            t["finding_source"].format(text=source),
        ]
    lines += ["", t["checklist"], *(t["checklist_item"].format(item=i) for i in report.checklist)]
    e = report.estimate
    lines += ["", t["estimate"]]
    lines.append(t["provider"].format(start=_d(t, e.provider_by[0]), end=_d(t, e.provider_by[1])))
    lines.append(t["bureau"].format(start=_d(t, e.bureau_by[0]), end=_d(t, e.bureau_by[1])))
    if e.note:
        lines.append(e.note)
    lines.append(t["footer"])
    return "\n".join(lines)


def _finding_text(t: dict[str, str], number: int, f: Finding) -> str:
    parts = [t["finding"].format(number=number, problem=f.problem)]
    labelled = (("finding_rule", f.rule), ("finding_fix", f.fix), ("finding_source", f.source))
    for key, text in labelled:
        if text:
            parts.append(t[key].format(text=text))
    return "\n".join(parts)


def _d(t: dict[str, str], day: date) -> str:
    return t["date"].format(year=day.year, month=day.month, day=day.day)
