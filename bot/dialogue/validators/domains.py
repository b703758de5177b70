"""Domains: reduced to registrable domains and checked against the filable suffixes."""

from __future__ import annotations

import ipaddress
import re
from functools import cache
from urllib.parse import urlsplit

from publicsuffixlist import PublicSuffixList

from bot.dialogue.rules import (
    load_domain_suffixes,
    suffix_verdict,
)
from bot.dialogue.validators._common import (
    CJK,
    EXAMPLE_DOMAIN,
    DomainInfo,
    prepare,
)
from bot.errors import InputError

# --- domains --------------------------------------------------------------------------------

_SEPARATORS = re.compile(r"[\s,，、;；|]+")
_ASCII_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?")
_IDN_LABEL = re.compile(f"[{CJK}a-z0-9-]+")
# Names that only ever resolve inside a network (RFC 6761 / RFC 6762 and common habits).
_LOCAL_SUFFIXES = (
    "localhost",
    "local",
    "lan",
    "internal",
    "intranet",
    "test",
    "invalid",
    "example",
)
MAX_DOMAINS = 10  # a company files at most 10 websites per order, one domain each (facts 25)


@cache
def _psl() -> PublicSuffixList:
    # ICANN section only: a private suffix such as github.io is not a domain anyone can file.
    return PublicSuffixList(only_icann=True)


def check_domains(text: str, *, province: str | None, subject_type: str) -> list[DomainInfo]:
    """One or more domains or URLs, reduced to registrable domains and checked for filing."""
    raw = prepare(text, what="域名", example=EXAMPLE_DOMAIN, limit=4000, multiline=True)
    items = [item for item in _SEPARATORS.split(raw.replace("。", ".")) if item]
    if not items:
        raise InputError("请填写域名，多个域名用空格或逗号隔开。", EXAMPLE_DOMAIN)
    if len(items) > MAX_DOMAINS:
        raise InputError(
            f"一次最多填写 {MAX_DOMAINS} 个域名（一个备案订单最多 10 个网站，每个网站一个域名）。",
            EXAMPLE_DOMAIN,
        )
    found: dict[str, DomainInfo] = {}
    for item in items:
        info = _check_domain(item, province=province, subject_type=subject_type)
        found.setdefault(info.ascii, info)
    domains = list(found.values())
    if subject_type == "personal" and len(domains) > 1:
        # Tencent: individuals file 1 website per order, 1 domain per website (facts 25).
        note = (
            "个人备案一次通常只能报备 1 个网站、1 个域名；"
            "其余域名请在备案成功后以「新增网站」办理。"
        )
        domains = [domains[0]] + [
            d.model_copy(update={"warnings": [*d.warnings, note]}) for d in domains[1:]
        ]
    return domains


def _check_domain(item: str, *, province: str | None, subject_type: str) -> DomainInfo:
    """One domain or URL -> its registrable domain, checked."""
    if len(item) > 300:
        raise InputError("域名太长了，请检查后重新输入。", EXAMPLE_DOMAIN)
    host = _host_of(item.lower())
    if _is_ip(host):
        raise InputError(f"「{host}」是 IP 地址。备案填写的是域名，不是 IP。", EXAMPLE_DOMAIN)
    host = host.rstrip(".")
    if host == "localhost" or ("." in host and host.rsplit(".", 1)[-1] in _LOCAL_SUFFIXES):
        raise InputError(f"「{host}」是本地或内部使用的名称，不是可以备案的域名。", EXAMPLE_DOMAIN)
    if "." not in host:
        raise InputError(
            f"「{host[:60]}」缺少后缀，请填写完整的域名（例如 .com、.cn 结尾）。", EXAMPLE_DOMAIN
        )
    labels = domain_labels(host, example=EXAMPLE_DOMAIN)
    unicode_host = ".".join(u for _, u in labels)
    registrable = _psl().privatesuffix(unicode_host)
    suffix = _psl().publicsuffix(unicode_host)
    # The filing list knows suffixes the public suffix list lacks (政务.cn): a host that is
    # one of them is a suffix too, not a domain of its own.
    national = load_domain_suffixes().national
    if registrable is None or suffix is None or unicode_host in national:
        raise InputError(f"「{unicode_host}」只是域名后缀，请填写完整的域名。", EXAMPLE_DOMAIN)
    suffix, registrable = _longest_known_suffix(unicode_host, suffix, registrable)
    label = registrable[: -len(suffix) - 1]
    verdict = suffix_verdict(suffix, province, subject_type=subject_type, label=label)
    if not verdict.filable:
        raise InputError(f"「{registrable}」不能备案：{verdict.error}", EXAMPLE_DOMAIN)
    warnings = list(verdict.warnings)
    if registrable != unicode_host:
        warnings.insert(0, f"已按主域名「{registrable}」处理（备案时填写主域名）。")
    ascii_form = ".".join(a for a, _ in labels[-registrable.count(".") - 1 :])
    return DomainInfo(domain=registrable, ascii=ascii_form, suffix=suffix, warnings=warnings)


def _host_of(item: str) -> str:
    """The host part of a URL or bare domain ("https://www.a.com:8080/x" -> "www.a.com")."""
    if _is_ip(item.strip("[]")):
        return item.strip("[]")
    try:
        parts = urlsplit(item if "//" in item else "//" + item)
        host = parts.hostname
    except ValueError:
        host = None
    if not host:
        raise InputError(f"「{item[:60]}」不是有效的域名。", EXAMPLE_DOMAIN)
    return host


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def domain_labels(host: str, *, example: str) -> list[tuple[str, str]]:
    """Split a lower-case host into (ascii, unicode) labels, or explain what is wrong with it."""
    labels: list[tuple[str, str]] = []
    for label in host.split("."):
        if not label:
            raise InputError(f"「{host[:60]}」里有连续的点或空的部分。", example)
        try:
            if label.startswith("xn--"):
                ascii_label, unicode_label = label, label.encode("ascii").decode("idna")
            elif label.isascii():
                ascii_label = unicode_label = label
            elif _IDN_LABEL.fullmatch(label):
                ascii_label, unicode_label = label.encode("idna").decode("ascii"), label
            else:
                raise InputError(
                    f"「{label[:30]}」里有不能用在域名里的字符：域名只能包含字母、数字、短横线和汉字。",
                    example,
                )
        except UnicodeError:
            raise InputError(f"「{label[:30]}」不是有效的域名部分。", example) from None
        if len(ascii_label) > 63:
            raise InputError("域名中用点隔开的每一段最多 63 个字符。", example)
        if not _ASCII_LABEL.fullmatch(ascii_label):
            raise InputError(
                f"「{label[:30]}」不是有效的域名部分：只能用字母、数字和短横线，且不能以短横线开头或结尾。",
                example,
            )
        labels.append((ascii_label, unicode_label))
    if sum(len(a) + 1 for a, _ in labels) - 1 > 253:
        raise InputError("域名太长了（最多 253 个字符）。", example)
    return labels


def _longest_known_suffix(host: str, suffix: str, registrable: str) -> tuple[str, str]:
    """Prefer a longer suffix from the filing list that the public suffix list lacks (政务.cn)."""
    labels = host.split(".")
    national = load_domain_suffixes().national
    for start in range(1, len(labels) - 1):
        candidate = ".".join(labels[start:])
        if len(candidate) <= len(suffix):
            break
        if candidate in national:
            return candidate, ".".join(labels[start - 1 :])
    return suffix, registrable
