"""What a change requires, and its deadline: the regulation's 30 days ahead, guides' 30 after."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

# 《非经营性互联网信息服务备案管理办法》 asks for changes to be filed 30 days ahead (提前三十日);
# the article and many guides say within 30 days after. Both are kept (facts 67).
DAYS_AHEAD = 30
DAYS_AFTER = 30


def _value(values: dict[str, Any], name: str) -> Any:
    answer = values.get(name)
    return None if answer is None else answer["value"]


def change_deadline(values: dict[str, Any]) -> tuple[date, str] | None:
    """(deadline, which rule) for a change that must be filed, or None when none applies."""
    kind, raw = _value(values, "change_type"), _value(values, "change_date")
    if kind not in {"subject", "site_name", "remove_domain"} or not raw:
        return None
    when = date.fromisoformat(str(raw))
    if _value(values, "timing") == "planned":
        return when - timedelta(days=DAYS_AHEAD), "regulation"
    return when + timedelta(days=DAYS_AFTER), "guides"


def explain_change(values: dict[str, Any], today: date) -> str:
    """The steps for this change, with the deadline in words."""
    kind = _value(values, "change_type")
    if kind == "add_domain":
        return (
            "新增域名要办「新增网站」，不是变更备案：变更备案只能删除域名，不能加（facts 49）。\n"
            "· 在接入商备案系统选「新增网站」，填新域名和网站信息\n"
            "· 新网站备案期间，新域名先不要解析到大陆服务器（facts 46）\n"
            "· 新增网站会让管局复核主体下已有的全部网站，没用的网站先注销（facts 53）\n"
            "来源：腾讯云《变更信息》《网站信息》；facts 46, 49, 53"
        )
    if kind == "ip":
        if _value(values, "commercial_licence") == "yes":
            return (
                "有经营性 ICP 许可证的网站换 IP 要更新许可证信息，请联系接入商和发证管局办理。\n"
                "来源：腾讯云《是否需要备案》；facts 47, 59"
            )
        return (
            "同一接入商下只换服务器 IP，一般不用重新备案，备案号不变（有 ICP 证的网站除外）。\n"
            "· 部分接入商要在备案系统里更新接入信息，按接入商的提示操作即可\n"
            "来源：文章「相关问答」；腾讯云《是否需要备案》（facts 47）"
        )
    if kind == "provider":
        return (
            "换接入商要在新接入商处办「接入备案」，备案号通常不变。\n"
            "· 在新接入商提交接入备案；初审通过后网站就可以解析到新服务器，不必停站（facts 46）\n"
            "· 新接入完成后，原接入商会取消旧的接入；旧服务器别在这之前停掉\n"
            "· 如果只停了旧的、没有新增接入，主体会变成「空壳」被管局注销（facts 47）\n"
            "来源：文章「相关问答」；腾讯云《接入备案类》《注销备案》"
        )
    deadline = change_deadline(values)
    what = {"subject": "主体信息", "site_name": "网站名称", "remove_domain": "删除域名"}.get(
        str(kind), "备案信息"
    )
    lines = [f"{what}的变化要在接入商备案系统里提交「变更备案」。"]
    if deadline is not None:
        day, rule = deadline
        shown = f"{day.year}年{day.month}月{day.day}日"
        if rule == "regulation":
            if day < today:
                lines.append(
                    f"· 按《备案管理办法》应提前 30 天提交，期限 {shown} 已过：请马上提交。"
                )
            else:
                lines.append(f"· 按《备案管理办法》要提前 30 天提交：最晚 {shown}。")
        else:
            lines.append("· 已经发生的变化请马上提交。")
            lines.append(
                f"· 很多教程写「变化后 30 日内」，按这个说法最晚 {shown}；"
                "法规本身要求的是提前 30 天，所以越早越好。"
            )
    lines.append("· 变更期间网站可以继续访问，不用停解析（facts 46）")
    if kind == "subject":
        lines.append(
            "· 变更不能跨省迁移，也不能把企业主体改成个人：那需要注销后重新备案（facts 49）"
        )
    lines.append("来源：《非经营性互联网信息服务备案管理办法》（facts 67）；腾讯云《变更信息》")
    return "\n".join(lines)
