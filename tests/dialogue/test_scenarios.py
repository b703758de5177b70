"""Simulated users: companies and people in several provinces, the report read item by item.

The driver answers whichever question the bot asks (by the question's text), so a scenario
states facts about the user, not the order of the form; the report must then hold exactly the
problems those facts and the province's sourced rules support.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pytest

from bot.app import App
from bot.dialogue.forms import load_forms
from tests.drivers import EngineChat

# What a user never reads: our files, our notes about sources, filler rows.
WORKSHOP = re.compile(r"facts|\.md\b|\.yaml|issue|来源没有|未点名|按提示核对|填写时的检查提示")

COMPANY = {
    "subject_type": "企业",
    "foreign_company": "是，在大陆注册",
    "server_location": "中国大陆",
    "provider": "腾讯云",
    "server_bought": "2年",
    "server_days_left": "300天",
    "server_ip": "8.8.8.8",
    "company_name": "示例科技有限公司",
    "credit_code": "91350100M000100Y43",
    "legal_rep": "王五",
    "owner_name_enterprise": "李四",
    "owner_id_enterprise": "/skip",
    "mobile": "13912345678",
    "email": "lisi@example.com",
    "domains": "example.cn",
    "domain_holder": "一致",
    "domain_real_name": "超过3天",
    "site_name": "示例科技产品介绍",
    "service_content": "企业官网或产品介绍",
    "business_scope": "软件开发；信息技术咨询服务",
    "special_industry": "都不涉及",
    "documents_ready": "都在",
    "prior_filing": "从没备过案",
}
PERSON = {
    "subject_type": "个人",
    "identity": "中国大陆居民身份证",
    "server_location": "中国大陆",
    "provider": "阿里云",
    "server_bought": "1年",
    "server_days_left": "200天",
    "server_ip": "1.2.3.4",
    "owner_name": "张三",
    "mobile": "13800138000",
    "email": "zhangsan@example.com",
    "domains": "example.com",
    "domain_holder": "一致",
    "domain_real_name": "超过3天",
    "site_name": "张三的读书笔记",
    "service_content": "个人博客或学习笔记",
    "special_industry": "都不涉及",
    "documents_ready": "都在",
    "prior_filing": "从没备过案",
}


@dataclass
class Case:
    """One user: base answers, what differs, and the report's expected ❌ and ⚠ problems."""

    name: str
    answers: dict[str, str]
    blocking: list[str]
    warnings: list[str]
    checklist_has: list[str] = field(default_factory=list)
    checklist_lacks: list[str] = field(default_factory=list)
    never_asked: list[str] = field(default_factory=list)


CASES = [
    Case(
        "广东 company, 网站负责人 not the legal rep, 主体负责人 is",
        {
            **COMPANY,
            "province": "广东",
            "subject_owner_is_legal_rep": "是，填法人本人",
            "site_owner_is_legal_rep": "不是，另有负责人",
        },
        blocking=[],
        warnings=["网站负责人不是法人：问一下接入商要不要授权书", "手机号最好是本省号码"],
        checklist_has=["授权书（如果接入商要求"],
        never_asked=["auth_letter"],
    ),
    Case(
        "广东 company that will name someone else as 主体负责人",
        {
            **COMPANY,
            "province": "广东省",
            "subject_owner_is_legal_rep": "不是，填别人",
            "site_owner_is_legal_rep": "是，法人本人",
        },
        blocking=["主体负责人不是法定代表人，广东不受理"],
        warnings=["手机号最好是本省号码"],
        checklist_lacks=["授权书"],
    ),
    Case(
        "上海 company, both 负责人 not the legal rep, no letter yet",
        {
            **COMPANY,
            "province": "上海",
            "subject_owner_is_legal_rep": "不是，填别人",
            "site_owner_is_legal_rep": "不是，另有负责人",
            "auth_letter": "还没有",
        },
        blocking=["主体负责人不是法定代表人，上海不受理", "网站负责人不是法人，授权书还没准备"],
        warnings=["手机号最好是本省号码"],
        checklist_has=["授权书（接入商模板"],
    ),
    Case(
        "上海 company that has not decided its 主体负责人, letter ready",
        {
            **COMPANY,
            "province": "沪",
            "subject_owner_is_legal_rep": "还没定",
            "site_owner_is_legal_rep": "不是，另有负责人",
            "auth_letter": "已准备",
        },
        blocking=[],
        warnings=["上海要求主体负责人是法定代表人", "手机号最好是本省号码"],
    ),
    Case(
        "四川 company: a 主体负责人 who is not the legal rep needs a letter",
        {
            **COMPANY,
            "province": "四川",
            "subject_owner_is_legal_rep": "不是，填别人",
            "site_owner_is_legal_rep": "是，法人本人",
        },
        blocking=[],
        warnings=["主体负责人不是法定代表人，四川要授权书", "手机号最好是本省号码"],
        checklist_has=["授权书（接入商模板"],
    ),
    Case(
        "江苏 company: no rule on the 主体负责人, a landline is needed",
        {**COMPANY, "province": "江苏", "site_owner_is_legal_rep": "是，法人本人"},
        blocking=[],
        warnings=["手机号最好是本省号码", "江苏单位需要固定电话"],
        never_asked=["subject_owner_is_legal_rep", "auth_letter"],
        checklist_lacks=["授权书"],
    ),
    Case(
        "北京 company: the office phone must differ from the mobile",
        {**COMPANY, "province": "北京", "site_owner_is_legal_rep": "不是，另有负责人"},
        blocking=[],
        warnings=[
            "网站负责人不是法人：问一下接入商要不要授权书",
            "手机号最好是本省号码",
            "北京办公电话不能和手机相同",
        ],
        never_asked=["subject_owner_is_legal_rep", "auth_letter"],
    ),
    Case(
        "浙江 company selling online without its news licence",
        {
            **COMPANY,
            "province": "浙江",
            "subject_owner_is_legal_rep": "是，填法人本人",
            "site_owner_is_legal_rep": "是，法人本人",
            "service_content": "在线卖东西（电商）",
            "special_industry": "新闻资讯",
            "pre_approval": "还没有",
        },
        blocking=["涉及前置审批的内容还没有审批文件"],
        warnings=["手机号最好是本省号码"],
        checklist_has=["前置审批文件"],
    ),
    Case(
        "广东 person with a 湖南 ID",
        {**PERSON, "province": "广东", "owner_id": "430102199001010016"},
        blocking=[],
        warnings=[
            "身份证是湖南的，备案省份填的是广东",
            "个人网站的评论、注册登录功能",
            "手机号最好是本省号码",
        ],
    ),
    Case(
        "上海 person selling online",
        {
            **PERSON,
            "province": "上海",
            "owner_id": "310101199001010012",
            "service_content": "在线卖东西（电商）",
        },
        blocking=["个人网站不能做经营性或企业内容"],
        warnings=["个人网站的评论、注册登录功能", "手机号最好是本省号码"],
    ),
    Case(
        "四川 person on 腾讯云 whose server was bought for a month",
        {
            **PERSON,
            "province": "四川",
            "owner_id": "/skip",
            "server_bought": "1个月",
            "provider": "腾讯云",
        },
        blocking=["服务器只买了 30 天"],
        warnings=["个人网站的评论、注册登录功能", "手机号最好是本省号码"],
    ),
    Case(
        "四川 person on 阿里云: 腾讯云's 90 days is a warning, not a rejection",
        {**PERSON, "province": "四川", "owner_id": "/skip", "server_bought": "1个月"},
        blocking=[],
        warnings=["服务器只买了 30 天", "个人网站的评论、注册登录功能", "手机号最好是本省号码"],
    ),
    Case(
        "北京 person with a 北京 ID",
        {**PERSON, "province": "北京", "owner_id": "11010519491231002X"},
        blocking=[],
        warnings=["个人网站的评论、注册登录功能", "手机号最好是本省号码"],
        checklist_has=["身份证原件"],
        never_asked=["company_name", "subject_owner_is_legal_rep"],
    ),
    Case(
        "河南 person with a 广东 ID: 河南 takes only local IDs",
        {**PERSON, "province": "河南", "owner_id": "440305199001010018"},
        blocking=["身份证是广东的，河南管局只受理本省身份证"],
        warnings=["个人网站的评论、注册登录功能", "手机号最好是本省号码"],
    ),
    Case(
        "浙江 person on 腾讯云 running a forum on a server about to expire",
        {
            **PERSON,
            "province": "浙江",
            "owner_id": "/skip",
            "server_days_left": "20天",
            "service_content": "论坛或社区",
            "provider": "腾讯云",
        },
        blocking=["服务器还剩 20 天到期", "个人备案不能做论坛或社区"],
        warnings=["个人网站的评论、注册登录功能", "手机号最好是本省号码"],
    ),
    Case(
        "浙江 person on 华为云 with 20 days left: 腾讯云's 30 days is only a warning",
        {
            **PERSON,
            "province": "浙江",
            "owner_id": "/skip",
            "server_days_left": "20天",
            "provider": "华为云",
        },
        blocking=[],
        warnings=["服务器还剩 20 天到期", "个人网站的评论、注册登录功能", "手机号最好是本省号码"],
    ),
]


def _prompt_heads() -> dict[str, str]:
    """Each filing slot's question (first line of its prompt, in every wording) -> slot name."""
    spec = load_forms()["filing"]
    prompts = [
        (text, slot.name)
        for slot in spec.slots
        for text in [slot.prompt, *(v.prompt for v in slot.variants if v.prompt)]
    ]
    return {text.strip().splitlines()[0]: name for text, name in prompts}


def _run(chat: EngineChat, answers: dict[str, str]) -> tuple[list[str], list[str]]:
    """Answer every question the bot asks; returns (slot names asked, every reply)."""
    heads = _prompt_heads()
    asked: list[str] = []
    seen: list[str] = []
    replies = chat.say("/filing")
    for _ in range(40):
        seen += replies
        if "请核对你的资料" in "\n".join(replies):
            break
        last = replies[-1]
        name = next(n for head, n in heads.items() if head in last)
        assert name in answers, f"asked {name!r}, which this user has no answer for"
        assert asked[-1:] != [name], f"{answers[name]!r} was refused: {last}"
        asked.append(name)
        replies = chat.say(answers[name])
    seen += chat.say("确认")
    return asked, seen


def _items(section: str) -> list[str]:
    return re.findall(r"^\d+\. (.+)$", section, flags=re.MULTILINE)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_the_report_holds_exactly_what_the_answers_support(app: App, case: Case) -> None:
    asked, replies = _run(EngineChat(app.engine), case.answers)
    report = replies[-1]
    assert report.startswith("【预审报告】")
    body, checklist = report.split("【材料清单】")
    blocking = body.split("⚠️")[0] if "❌" in body else ""
    warnings = body.split("⚠️")[1] if "⚠️" in body else ""
    assert _items(blocking) == case.blocking
    assert _items(warnings) == case.warnings
    for item in case.checklist_has:
        assert item in checklist
    for item in case.checklist_lacks:
        assert item not in checklist
    for name in case.never_asked:
        assert name not in asked
    for reply in replies:
        assert not WORKSHOP.search(re.sub(r"https?://\S+", "", reply)), reply


@pytest.mark.parametrize(
    ("prior", "filing_type"),
    [
        ("从没备过案", "「首次备案」"),
        ("主体有备案号，这次加一个新网站", "「新增网站」"),
        ("网站已有备案号，这次换到这家服务器", "「接入备案」"),
        ("不确定", "beian.miit.gov.cn/#/Integrated/recordQuery"),
    ],
)
def test_the_report_names_the_filing_type_to_submit(
    app: App, prior: str, filing_type: str
) -> None:
    answers = {**PERSON, "province": "北京", "owner_id": "/skip", "prior_filing": prior}
    _, replies = _run(EngineChat(app.engine), answers)
    section = replies[-1].split("【这次提交哪种备案】")[1].split("【材料清单】")[0]
    assert filing_type in section and "来源：" in section


PRE_APPROVAL_CASES = [
    ({"business_scope": "软件开发；网络视频直播服务"}, "「视频」看起来涉及视频、广播、影视"),
    ({"site_name": "示例科技新闻中心"}, "「新闻」看起来涉及新闻资讯"),
    ({"business_scope": "药品零售；医疗器械销售"}, "「药品」看起来涉及药品和医疗器械"),
    (
        {"service_content": "其他", "service_remark": "发布手游攻略和测评"},
        "「手游」看起来涉及网络游戏",
    ),
]


@pytest.mark.parametrize(("differs", "hint"), PRE_APPROVAL_CASES)
def test_what_the_site_does_raises_the_pre_approval_question(
    app: App, differs: dict[str, str], hint: str
) -> None:
    answers = {**COMPANY, "province": "北京", "site_owner_is_legal_rep": "是，法人本人", **differs}
    _, replies = _run(EngineChat(app.engine), answers)
    body = replies[-1].split("【材料清单】")[0]
    warnings = _items(body.split("⚠️")[1])
    assert hint in " ".join(warnings)
    assert "会被驳回的问题" not in body  # a hint is a question to check, not a rejection


def test_a_plain_business_scope_raises_nothing(app: App) -> None:
    answers = {**COMPANY, "province": "北京", "site_owner_is_legal_rep": "是，法人本人"}
    _, replies = _run(EngineChat(app.engine), answers)
    assert "看起来涉及" not in replies[-1]
