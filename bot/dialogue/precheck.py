"""The pre-check report (预审报告): what a provider's first review would reject, and the fix.

Province-specific rules come from knowledge/rules/provinces.yaml (each with its source); the
checks here only decide which of them applies to the answers a user gave.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from bot.dialogue.rules import Province, load_province_rules
from bot.workdays import APPROXIMATE_NOTE, add_workdays


class Level(StrEnum):
    """A blocking problem stops the filing; a warning is a risk or a thing to prepare."""

    BLOCKING = "blocking"
    WARNING = "warning"


class Finding(BaseModel):
    """One problem: what, the rule behind it, the fix, and where the rule comes from."""

    level: Level
    problem: str
    rule: str
    fix: str
    source: str


class Estimate(BaseModel):
    """Expected dates for the two reviews, in mainland working days."""

    provider_by: tuple[date, date]
    bureau_by: tuple[date, date]
    approximate: bool
    note: str = ""


class Report(BaseModel):
    """Everything shown when a filing's data is confirmed."""

    findings: list[Finding]
    checklist: list[str]
    estimate: Estimate


def _v(values: dict[str, Any], name: str) -> Any:
    answer = values.get(name)
    return None if answer is None else answer["value"]


def _province(values: dict[str, Any]) -> Province | None:
    code = _v(values, "province")
    return load_province_rules().find(str(code)) if code else None


def findings(values: dict[str, Any]) -> list[Finding]:
    """Apply every pre-check rule to a filing's answers."""
    out: list[Finding] = []
    province = _province(values)
    subject = _v(values, "subject_type")
    personal = subject == "personal"

    if _v(values, "server_location") == "overseas":
        out.append(
            Finding(
                level=Level.BLOCKING,
                problem="服务器不在中国大陆",
                rule="ICP 备案只能通过大陆服务器的接入商提交；境外服务器不需要也办不了 ICP 备案。",
                fix="要备案就换大陆服务器（包年包月）；不换就不用 ICP 备案，但可能要公安联网备案",
                source="文章「域名与服务器要求」；facts 55",
            )
        )
    bought, left = _v(values, "server_bought"), _v(values, "server_days_left")
    if isinstance(bought, int) and bought < 90:
        out.append(
            Finding(
                level=Level.BLOCKING,
                problem=f"服务器只买了 {bought} 天",
                rule="备案用的服务器一般要包年包月、购买满 3 个月（腾讯云：至少 90 天）。",
                fix="续费到 3 个月以上，按量付费的实例不能用来备案。",
                source="facts 26（腾讯云《能否进行备案》）",
            )
        )
    if isinstance(left, int) and left < 30:
        out.append(
            Finding(
                level=Level.BLOCKING,
                problem=f"服务器还剩 {left} 天到期",
                rule="腾讯云要求剩余时长不少于 30 天；审核期间到期会影响备案。",
                fix="先续费，审核通过后也要保持续费，服务器过期可能导致备案被注销。",
                source="facts 26",
            )
        )
    elif isinstance(left, int) and left < 60:
        out.append(
            Finding(
                level=Level.WARNING,
                problem=f"服务器还剩 {left} 天到期",
                rule="整个备案常要 10-20 个工作日，审核中途到期会影响备案。",
                fix="建议提交前先续费。",
                source="facts 16-17, 26",
            )
        )

    if personal and _v(values, "identity") in {"hmt", "foreign"}:
        out.append(
            Finding(
                level=Level.WARNING,
                problem="非大陆居民身份证办个人备案",
                rule="港澳台居民和外籍人士能否个人备案各省规定不同。",
                fix="提交前先问接入商本省是否受理，以及需要哪些证件（如居住证）。",
                source="facts 30, 62",
            )
        )
    if _v(values, "foreign_company") == "foreign":
        out.append(
            Finding(
                level=Level.BLOCKING,
                problem="境外公司不能直接备案",
                rule="需要在大陆注册的主体（分公司、合资或外资企业），或外国企业常驻代表机构登记证。",
                fix="用大陆注册的公司作为备案主体。",
                source="facts 62",
            )
        )
    if subject == "other":
        out.append(
            Finding(
                level=Level.WARNING,
                problem="主体是事业单位、社会团体等其他组织",
                rule="这类主体需要的证件（事业单位法人证书、社会团体登记证等）各不相同。",
                fix="提交前请向接入商确认证件清单。",
                source="以接入商要求为准",
            )
        )

    out += _identity_findings(values, province, personal)
    out += _owner_findings(values, province)
    out += _domain_findings(values)
    out += _content_findings(values, personal)
    out += _province_notes(province, personal)
    for answer in values.values():
        for warning in answer.get("warnings", []):
            out.append(
                Finding(
                    level=Level.WARNING,
                    problem=warning,
                    rule="填写时的检查提示",
                    fix="按提示核对或调整。",
                    source="facts 23-26, 32, 38-39",
                )
            )
    return sorted(out, key=lambda f: f.level is not Level.BLOCKING)


def _identity_findings(
    values: dict[str, Any], province: Province | None, personal: bool
) -> list[Finding]:
    out: list[Finding] = []
    id_answer = _v(values, "owner_id") or _v(values, "owner_id_enterprise")
    if not province or not isinstance(id_answer, dict):
        return out
    id_province, age = id_answer.get("province"), id_answer.get("age")
    rules = province.rules
    if personal and id_province and id_province != province.name:
        if rules.local_id_only.value:
            out.append(
                Finding(
                    level=Level.BLOCKING,
                    problem=f"身份证是{id_province}的，{province.name}管局只受理本省身份证",
                    rule=f"{province.name}个人备案只受理本省户籍身份证（旧规定，facts 30）。",
                    fix=f"用户籍所在省（{id_province}）办理，或先问接入商现在是否放宽。",
                    source=rules.local_id_only.source,
                )
            )
        elif rules.residence_permit_for_outsiders.value:
            out.append(
                Finding(
                    level=Level.WARNING,
                    problem=f"身份证是{id_province}的，在{province.name}备案需要居住证",
                    rule=f"{province.name}要求外省个人提供本地居住证或临时居住证。",
                    fix="准备好居住证扫描件，或改在户籍省备案。",
                    source=rules.residence_permit_for_outsiders.source,
                )
            )
        else:
            out.append(
                Finding(
                    level=Level.WARNING,
                    problem=f"身份证是{id_province}的，备案省份填的是{province.name}",
                    rule="管局按证件地址确定；外省个人能否在本省备案各省不同。",
                    fix="确认这样填的理由（如居住证），或改在户籍省备案；以当地管局/接入商要求为准。",
                    source="facts 29-30",
                )
            )
    if isinstance(age, int) and age < 18:
        limits = rules.min_age.value or []
        text = "；".join(
            f"{'、'.join(limit.subject_types)}未满{limit.refused_under}岁不受理"
            if limit.refused_under
            else f"未满{limit.certificate_under}岁需要证明"
            for limit in limits
        )
        out.append(
            Finding(
                level=Level.WARNING,
                problem=f"负责人未满 18 岁（{age} 岁）",
                rule=f"未成年人能否备案各省不同。{province.name}：{text or '来源没有写明'}。",
                fix="提交前先问接入商；有的省份需要监护人或工作证明。",
                source=rules.min_age.source,
            )
        )
    return out


def _owner_findings(values: dict[str, Any], province: Province | None) -> list[Finding]:
    out: list[Finding] = []
    if _v(values, "site_owner_is_legal_rep") != "no" or province is None:
        return out
    rule = province.rules.owner_must_be_legal_rep
    if rule.value == "must":
        out.append(
            Finding(
                level=Level.BLOCKING,
                problem=f"{province.name}要求主体负责人是法定代表人",
                rule=f"{province.name}管局要求单位主体负责人由法定代表人担任（facts 31）。",
                fix="主体负责人填法人本人；网站负责人可另设，但可能需要授权书。",
                source=rule.source,
            )
        )
    if _v(values, "auth_letter") == "missing":
        out.append(
            Finding(
                level=Level.BLOCKING,
                problem="负责人不是法人，授权书还没准备",
                rule="多数要求授权书的省份会直接驳回缺授权书的订单。",
                fix="用接入商提供的模板，法人签字并加盖公章后上传。",
                source=province.rules.site_owner_letter_if_not_legal_rep.source,
            )
        )
    return out


def _domain_findings(values: dict[str, Any]) -> list[Finding]:
    out: list[Finding] = []
    holder = _v(values, "domain_holder")
    if holder == "different":
        out.append(
            Finding(
                level=Level.BLOCKING,
                problem="域名持有人和备案主体不一致",
                rule="域名的实名持有人必须和备案主体完全一致。",
                fix="把域名过户到备案主体名下（在注册商处操作），或换一个主体名下的域名。",
                source="文章「域名与服务器要求」；facts 23",
            )
        )
    elif holder == "unknown":
        out.append(
            Finding(
                level=Level.WARNING,
                problem="不确定域名持有人是谁",
                rule="域名的实名持有人必须和备案主体一致。",
                fix="到域名注册商的控制台查看域名持有者信息。",
                source="facts 23",
            )
        )
    real_name = _v(values, "domain_real_name")
    if real_name == "none":
        out.append(
            Finding(
                level=Level.BLOCKING,
                problem="域名还没有实名认证",
                rule="未实名的域名不能备案；.com/.net 注册 5 天内不实名还会被 serverHold。",
                fix="先在注册商完成实名认证，再等 3 天让数据同步到工信部。",
                source="facts 21-23",
            )
        )
    elif real_name == "recent":
        out.append(
            Finding(
                level=Level.WARNING,
                problem="域名实名不到 3 天",
                rule="实名信息同步到工信部要 3 个自然日（腾讯云注册）或 3 个工作日（其他注册商）",
                fix="等满 3 天再提交，否则系统可能提示域名未实名。",
                source="facts 21",
            )
        )
    return out


def _content_findings(values: dict[str, Any], personal: bool) -> list[Finding]:
    out: list[Finding] = []
    content = _v(values, "service_content")
    if personal and content == "forum":
        out.append(
            Finding(
                level=Level.BLOCKING,
                problem="个人备案不能做论坛或社区",
                rule="论坛属于电子公告服务，个人主体不能开办，有的省份已经不再审批论坛。",
                fix="改成不带论坛、评论的个人网站，或用企业主体备案。",
                source="facts 36-37",
            )
        )
    if personal and content in {"shop", "corporate"}:
        out.append(
            Finding(
                level=Level.BLOCKING,
                problem="个人网站不能做经营性或企业内容",
                rule="个人备案的网站只能放个人非经营性内容。",
                fix="电商或企业官网请用企业主体备案。",
                source="文章「填写主体信息与网站信息」；facts 40",
            )
        )
    if _v(values, "pre_approval") == "missing":
        out.append(
            Finding(
                level=Level.BLOCKING,
                problem="涉及前置审批的内容还没有审批文件",
                rule="新闻、出版、药品医疗器械、文化、视听、金融、游戏等要先取得主管部门许可；"
                "教育、医疗保健类前置审批已取消（很多教程仍写着要）。",
                fix="先办好对应许可证，或去掉这部分内容再备案。",
                source="facts 36",
            )
        )
    if personal:
        out.append(
            Finding(
                level=Level.WARNING,
                problem="个人网站的评论、注册登录功能",
                rule="一些管局会要求个人网站关闭评论和用户注册，否则限期整改。",
                fix="备案期间和备案后都先不要开放评论和注册。",
                source="facts 39",
            )
        )
    return out


def _province_notes(province: Province | None, personal: bool) -> list[Finding]:
    if province is None:
        return []
    rules, out = province.rules, []
    if rules.face_check.value:
        out.append(
            Finding(
                level=Level.WARNING,
                problem=f"{province.name}的人脸核验",
                rule=rules.face_check.value,
                fix="按接入商或管局 App 的提示在本人手机上完成。",
                source=rules.face_check.source,
            )
        )
    if rules.party_building_certificate.value:
        out.append(
            Finding(
                level=Level.WARNING,
                problem=f"{province.name}需要党建证明",
                rule="首次备案和新增网站需要党委网信办出具的党建证明。",
                fix="提前向当地网信办申请。",
                source=rules.party_building_certificate.source,
            )
        )
    if personal and rules.personal_remark_declaration.value:
        out.append(
            Finding(
                level=Level.WARNING,
                problem=f"{province.name}个人备案备注声明",
                rule=rules.personal_remark_declaration.value,
                fix="在备注里粘贴这段声明（旧规定，提交前向接入商确认）。",
                source=rules.personal_remark_declaration.source,
            )
        )
    if rules.local_mobile_required.value is not False:
        out.append(
            Finding(
                level=Level.WARNING,
                problem="手机号最好是本省号码",
                rule=rules.local_mobile_required.note
                or f"{province.name}要求负责人手机号为本省号码。",
                fix="用本省办理的实名手机号；同一个手机号不要用在多个备案主体上。",
                source=rules.local_mobile_required.source,
            )
        )
    if not personal and rules.company_landline.value:
        out.append(
            Finding(
                level=Level.WARNING,
                problem=f"{province.name}单位需要固定电话",
                rule="单位主体要填写固定电话。",
                fix="准备好单位座机号码。",
                source=rules.company_landline.source,
            )
        )
    if not personal and rules.office_phone_differs_from_mobile.value:
        out.append(
            Finding(
                level=Level.WARNING,
                problem=f"{province.name}办公电话不能和手机相同",
                rule="单位办公电话不能填负责人的手机号。",
                fix="办公电话填座机或另一个号码。",
                source=rules.office_phone_differs_from_mobile.source,
            )
        )
    return out


def checklist(values: dict[str, Any]) -> list[str]:
    """The documents to prepare for this case."""
    province = _province(values)
    personal = _v(values, "subject_type") == "personal"
    items: list[str] = []
    if personal:
        items.append("身份证原件（正反面，在接入商系统里拍摄或上传清晰彩色件）")
    else:
        items += [
            "营业执照（或其他单位证件）原件或彩色扫描件",
            "法定代表人身份证",
            "网站负责人身份证",
        ]
        if _v(values, "site_owner_is_legal_rep") == "no":
            items.append("授权书（接入商模板，法人签字并加盖公章）")
    items.append("负责人本人的手机，用来做人脸核验和接收管局短信（24 小时内完成核验）")
    items.append("人脸核验：本人实时拍摄，光线均匀、画面清晰，不要翻拍照片，建议摘掉眼镜")
    if province and province.rules.face_check.value:
        items.append(f"{province.name}：{province.rules.face_check.value}")
    id_answer = _v(values, "owner_id")
    outsider = (
        personal
        and province is not None
        and isinstance(id_answer, dict)
        and id_answer.get("province") not in {None, province.name}
    )
    if outsider and province and province.rules.residence_permit_for_outsiders.value:
        items.append(f"{province.name}居住证或临时居住证")
    if _v(values, "pre_approval") in {"ready", "missing"}:
        items.append("前置审批文件（许可证）")
    if province and province.rules.party_building_certificate.value:
        items.append("党委网信办出具的党建证明")
    items.append("《网站备案信息真实性承诺书》/核验单：在接入商系统里签署")
    items.append("域名证书（在域名注册商处下载，确认持有人就是备案主体）")
    return items


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
    return Report(
        findings=findings(values), checklist=checklist(values), estimate=estimate(values, today)
    )


def render_report(report: Report) -> str:
    """The report as chat text."""
    blocking = [f for f in report.findings if f.level is Level.BLOCKING]
    warnings = [f for f in report.findings if f.level is Level.WARNING]
    lines = ["【预审报告】"]
    if blocking:
        lines.append(f"❌ 会被驳回的问题（{len(blocking)} 项）：")
        lines += [_finding_text(i, f) for i, f in enumerate(blocking, 1)]
    else:
        lines.append("✅ 没有发现会被直接驳回的问题。")
    if warnings:
        lines.append(f"⚠️ 需要注意（{len(warnings)} 项）：")
        lines += [_finding_text(i, f) for i, f in enumerate(warnings, 1)]
    lines.append("\n【材料清单】")
    lines += [f"☐ {item}" for item in report.checklist]
    e = report.estimate
    lines.append("\n【时间预估】（按中国大陆工作日计算）")
    lines.append(
        f"· 接入商初审（1-3 个工作日）：约 {_d(e.provider_by[0])} 至 {_d(e.provider_by[1])}"
    )
    lines.append(f"· 管局审核：约 {_d(e.bureau_by[0])} 至 {_d(e.bureau_by[1])}")
    if e.note:
        lines.append(e.note)
    lines.append("规则以当地管局/接入商最新要求为准。发 /export 导出这份资料。")
    return "\n".join(lines)


def _finding_text(number: int, finding: Finding) -> str:
    return (
        f"{number}. {finding.problem}\n   规则：{finding.rule}\n   怎么办：{finding.fix}\n"
        f"   来源：{finding.source}"
    )


def _d(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
