"""The province and domain-suffix tables load, match their sources, and answer lookups."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from bot.content import knowledge_dir, load_yaml
from bot.dialogue.rules import (
    Province,
    ProvinceTable,
    find_province,
    is_suffix_filable,
    load_domain_suffixes,
    load_province_rules,
    normalize_suffix,
    province_for_id_prefix,
    province_for_place,
)
from bot.errors import ContentError

# facts 10, in its order.
ABBREVIATIONS = "京津沪渝冀晋蒙辽吉黑苏浙皖闽赣鲁豫鄂湘粤桂琼川贵云藏陕甘青宁新"
# GB/T 2260 province codes.
ID_PREFIXES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65",
}  # fmt: skip


def _provinces() -> list[Province]:
    return list(load_province_rules().provinces.values())


def _names_where(predicate: Callable[[Province], object]) -> set[str]:
    return {p.name for p in _provinces() if predicate(p)}


def test_loaders_are_cached() -> None:
    assert load_province_rules() is load_province_rules()
    assert load_domain_suffixes() is load_domain_suffixes()


def test_every_mainland_province_once() -> None:
    provinces = _provinces()
    assert sorted(p.abbreviation for p in provinces) == sorted(ABBREVIATIONS)
    assert {p.id_prefix for p in provinces} == ID_PREFIXES


@pytest.mark.parametrize("text", ["广东", "广东省", "粤", "guangdong", "GuangDong", " 广东管局 "])
def test_find_province_by_any_name(text: str) -> None:
    found = find_province(text)
    assert found is not None and found.name == "广东" and found.id_prefix == "44"


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("shanxi", "山西"),
        ("shaanxi", "陕西"),
        ("广西壮族自治区", "广西"),
        ("新疆维吾尔自治区", "新疆"),
        ("宁夏回族自治区", "宁夏"),
        ("内蒙古自治区", "内蒙古"),
        ("北京市", "北京"),
        ("京", "北京"),
    ],
)
def test_find_province_tricky_names(text: str, name: str) -> None:
    found = find_province(text)
    assert found is not None and found.name == name


@pytest.mark.parametrize("text", ["", "香港", "台湾", "火星", "x" * 1000])
def test_find_province_unknown(text: str) -> None:
    assert find_province(text) is None


def test_by_id_prefix() -> None:
    assert province_for_id_prefix("440305197506151239").name == "广东"  # type: ignore[union-attr]
    assert province_for_id_prefix("11").name == "北京"  # type: ignore[union-attr]
    assert province_for_id_prefix("81") is None
    assert province_for_id_prefix("") is None


def test_legal_representative_table_matches_facts_31() -> None:
    def rule(value: str) -> set[str]:
        return _names_where(lambda p: p.rules.owner_must_be_legal_rep.value == value)

    assert rule("letter") == {"吉林", "安徽", "四川", "甘肃"}
    assert rule("not_required") == {"北京", "山西", "辽宁", "江苏", "海南"}
    assert len(rule("must")) == 22 and {"广东", "上海", "新疆"} <= rule("must")
    letter = _names_where(lambda p: p.rules.site_owner_letter_if_not_legal_rep.value)
    assert letter == {
        *("天津", "上海", "安徽", "福建", "江西"),
        *("湖南", "湖北", "重庆", "四川", "贵州"),
    }


def test_out_of_province_rules_match_facts_30() -> None:
    permit = _names_where(lambda p: p.rules.residence_permit_for_outsiders.value)
    assert permit == {"上海", "江苏", "湖北", "江西", "福建", "四川"}
    local_only = _names_where(lambda p: p.rules.local_id_only.value)
    assert local_only == {"河南", "山西", "甘肃", "青海", "新疆", "云南", "贵州", "重庆"}
    # The article names 广东, the sourced table does not: unknown, not invented.
    guangdong = find_province("广东")
    assert guangdong is not None
    assert guangdong.rules.residence_permit_for_outsiders.value is None
    assert "广东" in guangdong.rules.residence_permit_for_outsiders.note


def test_phone_rules_match_facts_32() -> None:
    assert _names_where(lambda p: p.rules.company_landline.value) == {"江苏"}
    differs = _names_where(lambda p: p.rules.office_phone_differs_from_mobile.value)
    assert differs == {"北京", "辽宁", "吉林"}
    # "Many provinces", none named: nothing may be filled in.
    assert _names_where(lambda p: p.rules.local_mobile_required.value is not None) == set()
    assert _names_where(lambda p: p.rules.personal_blog_name_rejected.value is not None) == set()


def test_other_local_rules() -> None:
    assert _names_where(lambda p: p.rules.party_building_certificate.value) == {"新疆"}
    declaration = _names_where(lambda p: p.rules.personal_remark_declaration.value)
    assert declaration == {"天津", "广西"}
    assert _names_where(lambda p: p.rules.suffix_whitelist.value) == {"北京"}
    days = {p.name: p.rules.bureau_review_max_working_days.value for p in _provinces()}
    assert days.pop("浙江") == 30 and set(days.values()) == {20}
    shanghai = find_province("上海")
    assert shanghai is not None and "APP" in (shanghai.rules.face_check.value or "")


def test_age_rules_match_facts_34() -> None:
    jiangsu, guangdong = find_province("江苏"), find_province("广东")
    assert jiangsu is not None and guangdong is not None
    (limit,) = jiangsu.rules.min_age.value or []
    assert (limit.refused_under, limit.certificate_under) == (16, 18)
    by_type = {t: lim for lim in guangdong.rules.min_age.value or [] for t in lim.subject_types}
    assert by_type["personal"].certificate_under == 18
    assert by_type["enterprise"].refused_under == 16
    assert _names_where(lambda p: p.rules.min_age.value) == {"江苏", "广东"}


def test_every_rule_has_a_source() -> None:
    for province in _provinces():
        for name in type(province.rules).model_fields:
            assert getattr(province.rules, name).source.strip(), (province.name, name)


def test_a_missing_province_fails_loudly(tmp_path: Path) -> None:
    path = knowledge_dir() / "rules" / "provinces.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    del raw["provinces"]["xinjiang"]
    bad = tmp_path / "provinces.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError, match="31 provinces"):
        load_yaml(bad, ProvinceTable)


def test_an_unknown_rule_fails_loudly(tmp_path: Path) -> None:
    path = knowledge_dir() / "rules" / "provinces.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["provinces"]["beijing"]["rules"]["made_up_rule"] = {"value": True, "source": "x1"}
    bad = tmp_path / "provinces.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ContentError, match="made_up_rule"):
        load_yaml(bad, ProvinceTable)


# --- domain suffixes ------------------------------------------------------------------------


def test_national_list_has_195_suffixes() -> None:
    table = load_domain_suffixes()
    lists = table.filable
    assert (len(lists.cn_family), len(lists.idn), len(lists.latin)) == (44, 31, 120)
    assert len(table.national) == 195
    assert {"com", "cn", "com.cn", "gs.cn", "中国", "公司", "网络", "me"} <= table.national
    assert not {"org", "io", "name", "ai", "dev", "app"} & table.national


def test_beijing_whitelist() -> None:
    beijing = load_domain_suffixes().provinces["北京"]
    # 71 items in the source; 「.中文域名」 is the IDN flag, not a suffix.
    assert len(beijing.whitelist) == 70 and beijing.whitelist_includes_idn
    assert set(beijing.blacklist) == {"hk", "tw", "asia", "jp", "io", "me", "win", "org"}
    # Everything Beijing lists is national, except the stale .tel (tld_list §3).
    assert set(beijing.whitelist) - load_domain_suffixes().national == {"tel"}


@pytest.mark.parametrize(
    ("suffix", "province", "filable"),
    [
        ("com", None, True),
        (".COM", "北京", True),
        ("com.cn", "北京", True),
        ("中国", "北京", True),
        ("xn--fiqs8s", "京", True),
        ("io", None, False),
        ("org", None, False),
        ("org.cn", None, True),
        ("ai", None, False),
        ("dev", None, False),
        ("me", None, True),
        ("me", "广东", True),
        ("me", "北京", False),
        ("asia", "beijing", False),
        ("asia", "上海", True),
        ("tel", "北京", False),
        ("hk", None, False),
        ("香港", None, False),
        ("pw", None, True),
        ("notatld", None, False),
    ],
)
def test_is_suffix_filable(suffix: str, province: str | None, filable: bool) -> None:
    ok, reason = is_suffix_filable(suffix, province)
    assert ok is filable
    if not ok:
        assert reason


def test_cautions_come_with_a_reason() -> None:
    assert is_suffix_filable("tech")[1]  # possible suspension (tld_list §3)
    assert "北京" in is_suffix_filable("me")[1]  # province not known yet
    assert "白名单" in is_suffix_filable("red", "北京")[1]  # not on the 2019 list
    assert is_suffix_filable("baidu")[1]  # brand TLD


def test_subject_rules() -> None:
    assert is_suffix_filable("gov.cn", subject_type="personal")[0] is False
    ok, reason = is_suffix_filable("gov.cn", subject_type="enterprise")
    assert ok and "党政机关" in reason
    # Chongqing individuals: .org (old rule; .org is closed everywhere anyway).
    assert is_suffix_filable("org", "重庆", subject_type="personal")[0] is False


@given(st.sampled_from(sorted(load_domain_suffixes().national - {"gov.cn", "政务", "政务.cn"})))
def test_every_national_suffix_is_filable_outside_beijing(suffix: str) -> None:
    assert is_suffix_filable(suffix, "广东", subject_type="enterprise")[0]


@given(st.sampled_from(sorted(load_domain_suffixes().provinces["北京"].blacklist)))
def test_every_beijing_blacklisted_suffix_is_refused_there(suffix: str) -> None:
    assert is_suffix_filable(suffix, "北京")[0] is False


@given(st.text(max_size=300), st.one_of(st.none(), st.text(max_size=50)))
def test_lookups_never_crash(suffix: str, province: str | None) -> None:
    ok, reason = is_suffix_filable(suffix, province)
    assert isinstance(ok, bool) and isinstance(reason, str)
    normalize_suffix(suffix)


@pytest.mark.parametrize(
    ("place", "province"),
    [("深圳", "广东"), ("深圳市", "广东"), ("昆山", "江苏"), ("西安", "陕西"),
     ("乌鲁木齐", "新疆"), ("延边朝鲜族自治州", "吉林"), ("浦东新区", "上海")],
)  # fmt: skip
def test_a_place_names_its_province(place: str, province: str) -> None:
    found = province_for_place(place)
    assert found is not None and found[1].name == province


@pytest.mark.parametrize("place", ["朝阳区", "鼓楼", "南山区", "火星", "重庆市江北"])
def test_a_place_in_several_provinces_or_none_is_not_guessed(place: str) -> None:
    assert province_for_place(place) is None
