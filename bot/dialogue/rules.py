"""Province and domain-suffix rule tables (knowledge/rules/*.yaml) and their lookups."""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from functools import cache
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PrivateAttr, model_validator

from bot.content import knowledge_dir, load_yaml
from bot.errors import ContentError

SubjectType = Literal["personal", "enterprise", "government"]

PROVINCE_COUNT = 31  # mainland provinces; 港澳台 have no ICP filing (facts 10)

# Endings people add to a province name ("广东省", "广西壮族自治区", "广东管局").
_NAME_ENDINGS = (
    "通信管理局",
    "管局",
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "自治区",
    "省",
    "市",
)


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- provinces.yaml -------------------------------------------------------------------------


class Rule(_Frozen):
    """What every rule carries: where it comes from and whether that source is deprecated."""

    source: str = Field(min_length=2)
    note: str = ""
    # True for rules from Tencent's deprecated old table: the bot calls them 旧规定 (facts intro).
    deprecated: bool = False


class FlagRule(Rule):
    """A yes/no rule; `None` means no source says (the bot must not guess)."""

    value: bool | None


class OwnerRule(Rule):
    """Must the 主体负责人 be the 法定代表人 (facts 31)?"""

    value: Literal["must", "letter", "not_required"]


class DaysRule(Rule):
    """A number of working days."""

    value: int = Field(gt=0)


class TextRule(Rule):
    """A rule best said in words (face check, a declaration); `None` when no source says."""

    value: str | None


def rule_subject_type(answer: object) -> SubjectType:
    """The subject type a province rule names for the form's `subject_type` answer.

    The form asks 个人 / 企业 / 其他组织; the rules say 个人 or 单位 (`enterprise`), and an
    other organisation files the way a company does, so the 单位 rules hold for it.
    """
    return "personal" if answer == "personal" else "enterprise"


class AgeLimit(_Frozen):
    """One province's age limits for some subject types (facts 34)."""

    subject_types: list[SubjectType] = Field(min_length=1)
    refused_under: int | None = Field(default=None, gt=0)
    certificate_under: int | None = Field(default=None, gt=0)

    def refuses(self, subject_type: SubjectType, age: int) -> bool:
        """True when the province does not accept a 负责人 of `age` for `subject_type`."""
        return (
            subject_type in self.subject_types
            and self.refused_under is not None
            and age < self.refused_under
        )


class MinAgeRule(Rule):
    """Age limits for the 负责人; `None` when no source names the province."""

    value: list[AgeLimit] | None


class ProvinceRules(_Frozen):
    """Every rule for one province, defaults already merged in."""

    residence_permit_for_outsiders: FlagRule
    local_id_only: FlagRule
    owner_must_be_legal_rep: OwnerRule
    site_owner_letter_if_not_legal_rep: FlagRule
    local_mobile_required: FlagRule
    company_landline: FlagRule
    office_phone_differs_from_mobile: FlagRule
    personal_blog_name_rejected: FlagRule
    min_age: MinAgeRule
    bureau_review_max_working_days: DaysRule
    face_check: TextRule
    party_building_certificate: FlagRule
    personal_remark_declaration: TextRule
    suffix_whitelist: FlagRule


class SourcedNote(_Frozen):
    """A free-text local requirement with its source."""

    text: str = Field(min_length=2)
    source: str = Field(min_length=2)


class Province(_Frozen):
    """One mainland province: names, abbreviation, ID prefix and rules."""

    code: str = Field(pattern=r"^[a-z]+$")
    name: str = Field(min_length=2)
    full_name: str = Field(min_length=2)
    abbreviation: str = Field(min_length=1, max_length=1)
    id_prefix: str = Field(pattern=r"^[1-6][0-9]$")
    rules: ProvinceRules
    notes: list[SourcedNote] = Field(default_factory=list)


class ProvinceTable(_Frozen):
    """knowledge/rules/provinces.yaml."""

    sources: dict[str, str]
    source: str
    # How a rule's subject types are said to the user (个人, 单位): the keys are internal.
    subject_types: dict[SubjectType, str]
    defaults: dict[str, dict[str, Any]]
    provinces: dict[str, Province]
    _index: dict[str, Province] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults(cls, data: Any) -> Any:
        """Give each province every default rule it does not override, and its key as `code`."""
        if not isinstance(data, dict):
            return data
        defaults, rows = data.get("defaults"), data.get("provinces")
        if not isinstance(defaults, dict) or not isinstance(rows, dict):
            return data
        merged = {}
        for code, row in rows.items():
            if isinstance(row, dict):
                row = {**row, "code": code, "rules": {**defaults, **(row.get("rules") or {})}}
            merged[code] = row
        return {**data, "provinces": merged}

    @model_validator(mode="after")
    def _check_complete(self) -> ProvinceTable:
        """31 provinces, no two share a name, abbreviation or ID prefix; every subject type
        has its label."""
        unnamed = [t for t in get_args(SubjectType) if not self.subject_types.get(t, "").strip()]
        if unnamed:
            raise ValueError(f"subject_types: no label for {unnamed}")
        rows = list(self.provinces.values())
        if len(rows) != PROVINCE_COUNT:
            raise ValueError(f"expected {PROVINCE_COUNT} provinces, found {len(rows)}")
        for field in ("name", "full_name", "abbreviation", "id_prefix"):
            values = [getattr(row, field) for row in rows]
            if len(set(values)) != len(values):
                raise ValueError(f"two provinces share a {field}")
        return self

    def model_post_init(self, context: Any, /) -> None:
        """Index every way a province may be named."""
        for row in self.provinces.values():
            for key in (row.code, row.name, row.full_name, row.abbreviation):
                self._index[key] = row

    def find(self, text: str) -> Province | None:
        """The province named by `text`: 广东, 广东省, 粤, guangdong (陕西 is shaanxi)."""
        key = unicodedata.normalize("NFKC", text[:40]).strip().lower().replace(" ", "")
        if key in self._index:
            return self._index[key]
        for ending in _NAME_ENDINGS:
            if key.endswith(ending) and key[: -len(ending)] in self._index:
                return self._index[key[: -len(ending)]]
        return None

    def subject_label(self, subject_type: SubjectType) -> str:
        """The word the user reads for a subject type: `enterprise` -> 单位."""
        return self.subject_types[subject_type]

    def by_id_prefix(self, digits: str) -> Province | None:
        """The province whose GB/T 2260 code starts an ID or region code (`"44..."` -> 广东)."""
        head = digits[:2]
        return next((p for p in self.provinces.values() if p.id_prefix == head), None)


# --- domain_suffixes.yaml -------------------------------------------------------------------


def normalize_suffix(suffix: str) -> str:
    """`.COM` -> `com`, `xn--fiqs8s` -> `中国`: the form every suffix lookup uses."""
    labels = unicodedata.normalize("NFKC", suffix).strip().strip(".").lower().split(".")
    return ".".join(_label_to_unicode(label) for label in labels)


def _label_to_unicode(label: str) -> str:
    if not label.startswith("xn--"):
        return label
    try:
        return label.encode("ascii").decode("idna")
    except UnicodeError:
        return label  # not valid punycode: left as is, so it matches nothing


def is_idn(label: str) -> bool:
    """True for a Chinese (non-ASCII) label such as 中国."""
    return not label.isascii()


# A suffix as written in the YAML (".com.cn", ".中国"), stored normalised ("com.cn", "中国").
Suffix = Annotated[
    str, BeforeValidator(lambda v: normalize_suffix(v) if isinstance(v, str) else v)
]


class FilableLists(_Frozen):
    """The national list in its three parts (tld_list §1)."""

    cn_family: list[Suffix]
    idn: list[Suffix]
    latin: list[Suffix]


class RestrictedSuffix(_Frozen):
    """Suffixes only some holders may use (.gov.cn, .公益, .edu.cn ...)."""

    suffixes: list[Suffix] = Field(min_length=1)
    holders: str
    source: str


class SuffixNote(_Frozen):
    """A note on some suffixes: background (filable), a warning (caution) or the error."""

    suffixes: list[Suffix] = Field(min_length=1)
    status: Literal["filable", "caution", "not_filable"]
    reason: str = Field(min_length=4)
    source: str


class LabelRule(_Frozen):
    """A word the main label of a domain must not (or should not) contain in one province."""

    contains: list[str] = Field(min_length=1)
    blocking: bool
    exempt_subject_types: list[SubjectType] = Field(default_factory=list)
    reason: str
    source: str


class SubjectSuffixRule(_Frozen):
    """Suffixes some subject types may not file in one province (Chongqing .org)."""

    subject_types: list[SubjectType] = Field(min_length=1)
    suffixes: list[Suffix] = Field(min_length=1)
    reason: str
    source: str
    deprecated: bool = False


class ProvinceSuffixPolicy(_Frozen):
    """One province's suffix rules: whitelist, blacklist, label and subject rules."""

    source: str
    whitelist: list[Suffix] = Field(default_factory=list)
    whitelist_includes_idn: bool = False
    blacklist: list[Suffix] = Field(default_factory=list)
    blacklist_reason: str = ""
    unlisted_reason: str = ""
    label_rules: list[LabelRule] = Field(default_factory=list)
    subject_rules: list[SubjectSuffixRule] = Field(default_factory=list)
    notes: list[SourcedNote] = Field(default_factory=list)


class SuffixVerdict(_Frozen):
    """Can this suffix be filed here? `error` is set when not; `warnings` either way."""

    suffix: str
    filable: bool
    error: str = ""
    warnings: list[str] = Field(default_factory=list)


class SuffixTable(_Frozen):
    """knowledge/rules/domain_suffixes.yaml."""

    sources: dict[str, str]
    verified_at: date
    source: str
    filable: FilableLists
    restricted: list[RestrictedSuffix]
    notes: list[SuffixNote]
    provinces: dict[str, ProvinceSuffixPolicy]
    _national: frozenset[str] = PrivateAttr(default=frozenset())
    _notes: dict[str, SuffixNote] = PrivateAttr(default_factory=dict)
    _restricted: dict[str, RestrictedSuffix] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _check_lists(self) -> SuffixTable:
        """No suffix twice, and none both on the national list and marked not filable."""
        everything = self.filable.cn_family + self.filable.idn + self.filable.latin
        if len(set(everything)) != len(everything):
            raise ValueError("a suffix appears twice in `filable`")
        noted = [s for note in self.notes for s in note.suffixes]
        if len(set(noted)) != len(noted):
            raise ValueError("a suffix has two notes")
        for note in self.notes:
            clash = set(note.suffixes) & set(everything)
            if note.status == "not_filable" and clash:
                raise ValueError(f"{sorted(clash)} are both filable and not_filable")
        return self

    def model_post_init(self, context: Any, /) -> None:
        """Index the lists for lookups."""
        self._national = frozenset(self.filable.cn_family + self.filable.idn + self.filable.latin)
        self._notes = {s: note for note in self.notes for s in note.suffixes}
        self._restricted = {s: r for r in self.restricted for s in r.suffixes}

    @property
    def national(self) -> frozenset[str]:
        """Every suffix on the national list (normalised, no leading dot)."""
        return self._national

    def is_national(self, suffix: str) -> bool:
        """True if `suffix` is on the national list (or a later, cautioned addition)."""
        s = normalize_suffix(suffix)
        note = self._notes.get(s)
        return s in self._national or (note is not None and note.status == "caution")

    def verdict(
        self,
        suffix: str,
        *,
        province: str | None = None,
        subject_type: str | None = None,
        label: str = "",
    ) -> SuffixVerdict:
        """Judge `suffix` (and the domain's main `label`) for a canonical province name."""
        s = normalize_suffix(suffix)
        note = self._notes.get(s)
        if note is not None and note.status == "not_filable":
            return SuffixVerdict(suffix=s, filable=False, error=note.reason)
        if not self.is_national(s):
            return SuffixVerdict(
                suffix=s,
                filable=False,
                error=(
                    f"「.{s}」不在工信部批复的可备案后缀清单里（腾讯云 {self.verified_at} 版），"
                    "不能用于备案，请换用 .com、.cn 等常见后缀。"
                ),
            )
        warnings = [note.reason] if note is not None and note.status == "caution" else []
        restricted = self._restricted.get(s)
        if restricted is not None:
            if subject_type == "personal":
                error = f"「.{s}」只能由{restricted.holders}使用，个人不能用它备案。"
                return SuffixVerdict(suffix=s, filable=False, error=error)
            warnings.append(
                f"「.{s}」只能由{restricted.holders}使用；如果您不是这类单位，将无法备案。"
            )
        policy = self.provinces.get(province) if province else None
        if policy is not None:
            error = _province_error(policy, s, subject_type, label)
            if error:
                return SuffixVerdict(suffix=s, filable=False, error=error, warnings=warnings)
            warnings.extend(_province_warnings(policy, s, subject_type, label))
        elif province is None:
            # Province not asked yet: say which provinces refuse it, so nobody is surprised later.
            top = s.rsplit(".", 1)[-1]
            for name, other in self.provinces.items():
                if top in other.blacklist:
                    warnings.append(
                        f"注意：{name}管局不接受「.{top}」，如果您在{name}备案，请换用其他后缀。"
                    )
        return SuffixVerdict(suffix=s, filable=True, warnings=warnings)


def _province_error(
    policy: ProvinceSuffixPolicy, suffix: str, subject_type: str | None, label: str
) -> str:
    """The blocking province rule `suffix` breaks, or ""."""
    top = suffix.rsplit(".", 1)[-1]  # Beijing's list names TLDs: .com.cn counts as .cn
    if top in policy.blacklist:
        return policy.blacklist_reason
    for rule in policy.subject_rules:
        if subject_type in rule.subject_types and suffix in rule.suffixes:
            return rule.reason
    for label_rule in _matching_label_rules(policy, subject_type, label):
        if label_rule.blocking:
            return label_rule.reason
    return ""


def _province_warnings(
    policy: ProvinceSuffixPolicy, suffix: str, subject_type: str | None, label: str
) -> list[str]:
    """Non-blocking province notes for `suffix` and `label`."""
    warnings = [r.reason for r in _matching_label_rules(policy, subject_type, label)]
    top = suffix.rsplit(".", 1)[-1]
    listed = top in policy.whitelist or (policy.whitelist_includes_idn and is_idn(top))
    if policy.whitelist and not listed:
        warnings.append(policy.unlisted_reason)
    return warnings


def _matching_label_rules(
    policy: ProvinceSuffixPolicy, subject_type: str | None, label: str
) -> list[LabelRule]:
    return [
        rule
        for rule in policy.label_rules
        if subject_type not in rule.exempt_subject_types
        and any(word in label for word in rule.contains)
    ]


# --- loaders and module-level lookups -------------------------------------------------------


@cache
def load_province_rules() -> ProvinceTable:
    """knowledge/rules/provinces.yaml, loaded once."""
    return load_yaml(knowledge_dir() / "rules" / "provinces.yaml", ProvinceTable)


@cache
def load_domain_suffixes() -> SuffixTable:
    """knowledge/rules/domain_suffixes.yaml, loaded once; its province keys must be provinces."""
    path = knowledge_dir() / "rules" / "domain_suffixes.yaml"
    table = load_yaml(path, SuffixTable)
    provinces = load_province_rules()
    for name in table.provinces:
        found = provinces.find(name)
        if found is None or found.name != name:
            raise ContentError(
                f"{path}: provinces.{name}: not a province name from provinces.yaml"
            )
    return table


_CITY_ENDINGS = ("市", "地区", "盟", "区", "县")
_AUTONOMOUS = re.compile(r"^(.{2,}?)(?:[\u4e00-\u9fff]{1,3}族)+自治[州县]$")  # 延边朝鲜族自治州
_NOT_A_CITY = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
_ENTRY = re.compile(r"^(?:\[(\d*)-(\d*)\])?(.+)$")


def _current_name(county: str) -> str | None:
    """The name in use today: 「[1983-1989]南头区办事处,[1990-]南山区」 -> 南山区; gone -> None."""
    for entry in reversed(county.split(",")):
        match = _ENTRY.match(entry.strip())
        if match and not match.group(2):  # no end year: still in use
            return match.group(3)
    return None


def _short_names(name: str) -> set[str]:
    names = {name} | {
        name.removesuffix(e) for e in _CITY_ENDINGS if name.endswith(e) and len(name) > 2
    }
    autonomous = _AUTONOMOUS.match(name)
    return names | ({autonomous.group(1)} if autonomous else set())


@cache
def _city_index() -> dict[str, str]:
    """Place name (深圳, 深圳市, 昆山, 海淀区) -> the two-digit code of its province.

    python-stdnum ships the national division codes (GB/T 2260) as `cn/loc`. A prefecture-level
    city is kept when no other province has one of that name (西安, though 吉林 has a 西安区);
    a county-level city (昆山) only when the name is nowhere else at all. The user is told
    which province was taken, so a wrong reading costs one /back, never a silent guess.
    """
    from stdnum import numdb

    prefectures: dict[str, set[str]] = {}
    everywhere: dict[str, set[str]] = {}
    for _, low, _, _, children in numdb.get("cn/loc").prefixes:
        for _, code, _, props, _ in children:
            name = _current_name(props.get("county", ""))
            if name is None or code == "0000" or name in _NOT_A_CITY:
                continue
            for short in _short_names(name):
                everywhere.setdefault(short, set()).add(low)
                if code.endswith("00"):
                    prefectures.setdefault(short, set()).add(low)
    index = {n: next(iter(c)) for n, c in everywhere.items() if len(c) == 1}
    index |= {n: next(iter(c)) for n, c in prefectures.items() if len(c) == 1}
    return index


def province_for_place(text: str) -> tuple[str, Province] | None:
    """(the place as named, its province) for a city or district (深圳 -> 广东), or None."""
    key = unicodedata.normalize("NFKC", text[:20]).strip().replace(" ", "")
    prefix = _city_index().get(key)
    province = province_for_id_prefix(prefix) if prefix else None
    return (key, province) if province is not None else None


def find_province(text: str) -> Province | None:
    """The province named by `text` (广东 / 广东省 / 粤 / guangdong), or None."""
    return load_province_rules().find(text)


def province_for_id_prefix(digits: str) -> Province | None:
    """The province an ID number or region code starts with (`"440305..."` -> 广东), or None."""
    return load_province_rules().by_id_prefix(digits)


def suffix_verdict(
    suffix: str, province: str | None = None, *, subject_type: str | None = None, label: str = ""
) -> SuffixVerdict:
    """Judge a suffix for a province given in any form (an unknown province counts as none)."""
    found = find_province(province) if province else None
    return load_domain_suffixes().verdict(
        suffix,
        province=found.name if found else None,
        subject_type=subject_type,
        label=label,
    )


def is_suffix_filable(
    suffix: str, province: str | None = None, *, subject_type: str | None = None
) -> tuple[bool, str]:
    """(filable, reason): the error when not filable, else any warnings joined (may be "")."""
    verdict = suffix_verdict(suffix, province, subject_type=subject_type)
    return verdict.filable, verdict.error or "；".join(verdict.warnings)
