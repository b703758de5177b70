"""The internal-reference check: what it catches in answers and what it lets through."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.content import conversations_dir, knowledge_dir
from bot.content_check import internal_references, user_text_problems


@pytest.mark.parametrize(
    "text",
    [
        "放在首页底部正中（facts 29）",
        "来源：工信部令第33号（facts.md 5, 54-56, 67）",
        "See Facts 7 for the list",
        "可备案后缀见 tld_list §1",
        "按 tld_list.md 的表",
        "§5b 的省份",
        "文章「ICP备案流程」说要幕布",
        "原文章写的是服务器所在地",
        "据文章，审核要 20 天",
        "anyesu/blog#49 的评论",
        "见 issue 12",
        "用户反馈（PR #1607）",
        "腾讯云 product/域名与网站/网站备案/备案域名.md",
        "commit 09470f77 的版本",
        "更新于 00e307c7a64a 版",
        "F 27-28",
        "规则在 provinces.yaml 里",
        "github.com/tencentyun/qcloud-documents",
    ],
)
def test_workshop_references_are_caught(text: str) -> None:
    assert internal_references(text), text


@pytest.mark.parametrize(
    "text",
    [
        "《非经营性互联网信息服务备案管理办法》第十三条、第二十五条",
        "腾讯云「备案授权码」https://cloud.tencent.com/document/product/243/18905",
        "用户经验：备案号查询 https://github.com/anyesu/blog/issues/49",
        "个人网站不要发布新闻类文章，也不要开论坛",
        "Check the facts you filed against your licence.",
        "按F5刷新页面再看",
        "The bureau may issue the number within 20 working days.",
        "工信部信管〔2017〕264号",
        "粤ICP备12345678号-1",
    ],
)
def test_what_a_user_can_open_passes(text: str) -> None:
    assert internal_references(text) == []


def test_the_check_names_file_entry_and_field(tmp_path: Path) -> None:
    faq = tmp_path / "knowledge" / "faq"
    faq.mkdir(parents=True)
    (faq / "x.yaml").write_text(
        "entries:\n  - id: footer\n    answer: 放底部\n    source: 办法第十三条（facts 5）\n",
        encoding="utf-8",
    )
    # A comment is for the team and may name anything.
    (faq / "y.yaml").write_text("# from facts.md 5\nentries: []\n", encoding="utf-8")
    problems = user_text_problems(tmp_path / "knowledge")
    assert problems == [
        "knowledge/faq/x.yaml: entries[0][id=footer].source: an internal facts reference "
        "('facts 5')"
    ]


def test_shipped_knowledge_and_dialogue_hold_no_internal_reference() -> None:
    assert user_text_problems(knowledge_dir(), conversations_dir()) == []


def test_no_user_text_in_the_code_names_our_workshop() -> None:
    """Strings with Chinese in bot/ are what users read (error replies): none cites our files."""
    import ast

    problems = []
    for path in sorted(Path("bot").rglob("*.py")):
        if path.name == "content_check.py":  # the patterns themselves
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {
            id(node.body[0].value)
            for node in ast.walk(tree)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            and node.body
            and isinstance(node.body[0], ast.Expr)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.JoinedStr):
                text = "".join(
                    v.value
                    for v in node.values
                    if isinstance(v, ast.Constant) and isinstance(v.value, str)
                )
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
            ):
                text = node.value
            else:
                continue
            if re.search(r"[\u4e00-\u9fff]", text) and internal_references(text):
                problems.append(f"{path}:{node.lineno}: {internal_references(text)}")
    assert problems == []
