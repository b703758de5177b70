"""Companies and other organisations: unified social credit codes and names."""

from __future__ import annotations

import re

from stdnum.cn import uscc
from stdnum.exceptions import InvalidChecksum, ValidationError

from bot.dialogue.rules import (
    province_for_id_prefix,
)
from bot.dialogue.validators._common import (
    CJK,
    EXAMPLE_COMPANY,
    EXAMPLE_CREDIT_CODE,
    CreditCodeInfo,
    count_cjk,
    prepare,
)
from bot.errors import InputError

# --- companies ------------------------------------------------------------------------------

# GB 32100-2015 《法人和其他组织统一社会信用代码编码规则》 (general knowledge, not in facts.md):
# character 1 is the registration authority, character 2 the kind of organisation.
_AUTHORITIES: dict[str, tuple[str, dict[str, str]]] = {
    "1": ("机构编制", {"1": "机关", "2": "事业单位", "3": "群众团体", "9": "其他"}),
    "2": ("外交", {"1": "外国常驻新闻机构", "9": "其他"}),
    "3": (
        "司法行政",
        {
            "1": "律师执业机构",
            "2": "公证处",
            "3": "基层法律服务所",
            "4": "司法鉴定机构",
            "5": "仲裁委员会",
            "9": "其他",
        },
    ),
    "4": ("文化", {"1": "外国在华文化中心", "9": "其他"}),
    "5": ("民政", {"1": "社会团体", "2": "民办非企业单位", "3": "基金会", "9": "其他"}),
    "6": (
        "旅游",
        {"1": "外国旅游部门常驻代表机构", "2": "港澳台地区旅游部门常驻代表机构", "9": "其他"},
    ),
    "7": ("宗教", {"1": "宗教活动场所", "2": "宗教院校", "9": "其他"}),
    "8": ("工会", {"1": "基层工会", "9": "其他"}),
    "9": ("工商", {"1": "企业", "2": "个体工商户", "3": "农民专业合作社"}),
    "A": ("中央军委改革和编制办公室", {"1": "军队事业单位", "9": "其他"}),
    "N": (
        "农业",
        {"1": "组级集体经济组织", "2": "村级集体经济组织", "3": "乡镇级集体经济组织", "9": "其他"},
    ),
    "Y": ("其他", {}),
}
_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"


def check_credit_code(text: str) -> CreditCodeInfo:
    """An 18-character 统一社会信用代码, checked with stdnum.cn.uscc."""
    code = prepare(text, what="统一社会信用代码", example=EXAMPLE_CREDIT_CODE, limit=40)
    code = re.sub(r"[\s-]", "", code).upper()
    if len(code) == 15 and code.isdecimal():
        raise InputError(
            "这是旧的 15 位营业执照注册号，请填写执照上 18 位的统一社会信用代码。",
            EXAMPLE_CREDIT_CODE,
        )
    if len(code) != 18:
        raise InputError(
            f"统一社会信用代码应为 18 位，您填写的是 {len(code)} 位。", EXAMPLE_CREDIT_CODE
        )
    if any(c not in _USCC_ALPHABET for c in code):
        raise InputError(
            "统一社会信用代码只含数字和大写字母，且不含 I、O、Z、S、V（容易和数字混淆）。",
            EXAMPLE_CREDIT_CODE,
        )
    try:
        uscc.validate(code)
    except InvalidChecksum:
        raise InputError(
            "统一社会信用代码的校验位（最后一位）对不上，可能有一位输错了，请逐位核对。",
            EXAMPLE_CREDIT_CODE,
        ) from None
    except ValidationError:
        # stdnum wants 8 leading digits, but GB 32100 also has authorities A, N and Y: check
        # those with the library's own check digit instead of rejecting a real code.
        if not (code[0] in "ANY" and code[1:8].isdecimal()):
            raise InputError(
                "统一社会信用代码的前 8 位应为数字（登记部门、类别和地区码），请核对。",
                EXAMPLE_CREDIT_CODE,
            ) from None
        if uscc.calc_check_digit(code) != code[-1]:
            raise InputError(
                "统一社会信用代码的校验位（最后一位）对不上，请逐位核对。", EXAMPLE_CREDIT_CODE
            ) from None
    entry = _AUTHORITIES.get(code[0])
    province = province_for_id_prefix(code[2:4])
    return CreditCodeInfo(
        code=code,
        authority=entry[0] if entry else None,
        category=entry[1].get(code[1]) if entry else None,
        region_code=code[2:8],
        province=province.name if province else None,
    )


_COMPANY_CHARS = re.compile(f"[{CJK}A-Za-z0-9（）()·&、. -]+")


def check_company_name(text: str) -> str:
    """A company name as on its licence: 4-60 characters, with Chinese characters."""
    # No NFKC here: the name must match the licence character for character, brackets included.
    name = prepare(text, what="单位名称", example=EXAMPLE_COMPANY, limit=200, nfkc=False)
    name = re.sub(r"\s+", " ", name)
    if name.isdecimal():
        raise InputError("单位名称不能只有数字，请填写营业执照上的全称。", EXAMPLE_COMPANY)
    if not 4 <= len(name) <= 60:
        raise InputError("单位名称应为 4-60 个字，请填写营业执照上的全称。", EXAMPLE_COMPANY)
    if not count_cjk(name):
        raise InputError("单位名称应包含汉字，请填写营业执照上的中文全称。", EXAMPLE_COMPANY)
    if not _COMPANY_CHARS.fullmatch(name):
        raise InputError("单位名称里有不支持的符号或表情，请照营业执照填写。", EXAMPLE_COMPANY)
    return name
