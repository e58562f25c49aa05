"""The Baoji naming rule 地域 + 产业/行业/产品 + 称谓 (BJ-3.3)."""

from __future__ import annotations

import pytest

from services.handlers.brand_names import (
    DEFAULT_SUFFIXES,
    MAX_NAME_LENGTH,
    check_brand_name,
    region_forms,
)

LEGACY = ("西岐名吃",)


@pytest.mark.parametrize(
    ("name", "region", "industry", "legacy", "ok", "codes"),
    [
        ("宝鸡面点师", "宝鸡市", "面点", (), True, ()),
        ("陈仓建筑匠", "陈仓区", "建筑", (), True, ()),
        ("眉县猕猴桃员", "眉县", "猕猴桃", (), True, ()),
        ("化隆拉面匠", "化隆回族自治县", "拉面", (), True, ()),
        ("海西枸杞娃", "海西蒙古族藏族自治州", "枸杞", (), True, ()),
        ("湟中建筑工", "湟中区", "建筑", (), True, ()),
        ("凤翔泥塑匠人", "凤翔区", "泥塑", (), True, ()),
        ("宝鸡市面点师傅", "宝鸡市", "面点制作", (), True, ()),
        ("宝鸡5G工", "宝鸡市", "5G", (), True, ()),
        ("面点师", "宝鸡市", "面点", (), False, ("missing_region",)),
        ("眉猕猴桃员", "眉县", "猕猴桃", (), False, ("missing_region",)),
        ("宝鸡面点", "宝鸡市", "面点", (), False, ("missing_suffix",)),
        ("宝鸡师", "宝鸡市", "面点", (), False, ("missing_industry",)),
        ("宝鸡建筑师", "宝鸡市", "面点", (), False, ("missing_industry",)),
        ("师宝鸡面点", "宝鸡市", "面点", (), False, ("wrong_order",)),
        ("面点宝鸡师", "宝鸡市", "面点", (), False, ("wrong_order",)),
        ("西岐名吃", "宝鸡市", "小吃", LEGACY, True, ("legacy_override",)),
        (
            "西岐名吃",
            "宝鸡市",
            "小吃",
            (),
            False,
            ("missing_region", "missing_industry", "missing_suffix"),
        ),
        ("宝鸡秦岭山地生态旅游向导员", "宝鸡市", "生态旅游", (), False, ("too_long",)),
        ("宝鸡 面点师", "宝鸡市", "面点", (), False, ("invalid_characters",)),
        ("宝鸡面点师😀", "宝鸡市", "面点", (), False, ("invalid_characters",)),
        ("宝鸡·面点师！", "宝鸡市", "面点", (), False, ("invalid_characters",)),
        ("", "宝鸡市", "面点", (), False, ("empty",)),
        ("   ", "宝鸡市", "面点", (), False, ("empty",)),
    ],
)
def test_name_verdict_and_reason_codes(
    name: str, region: str, industry: str, legacy: tuple[str, ...], ok: bool, codes: tuple[str, ...]
) -> None:
    check = check_brand_name(name, region=region, industry=industry, legacy_names=legacy)

    assert check.ok is ok
    assert tuple(reason.code for reason in check.reasons) == codes


@pytest.mark.parametrize(
    ("region", "forms"),
    [
        ("宝鸡市", ("宝鸡市", "宝鸡")),
        ("陈仓区", ("陈仓区", "陈仓")),
        ("湟中区", ("湟中区", "湟中")),
        ("化隆回族自治县", ("化隆回族自治县", "化隆")),
        ("大通回族土族自治县", ("大通回族土族自治县", "大通")),
        ("海西蒙古族藏族自治州", ("海西蒙古族藏族自治州", "海西")),
        ("宝鸡高新区", ("宝鸡高新区", "宝鸡")),
        ("眉县", ("眉县",)),
        ("宝鸡", ("宝鸡",)),
    ],
)
def test_region_may_drop_its_administrative_suffix_unless_one_character_remains(
    region: str, forms: tuple[str, ...]
) -> None:
    assert region_forms(region) == forms


def test_parts_report_the_longest_region_and_suffix_found() -> None:
    check = check_brand_name("宝鸡市面点师傅", region="宝鸡市", industry="面点")

    assert (check.region_part, check.industry_part, check.suffix) == ("宝鸡市", "面点", "师傅")


def test_missing_region_message_names_short_and_declared_region() -> None:
    check = check_brand_name("面点师", region="宝鸡市", industry="面点")

    assert check.reasons[0].message_zh == (
        "名称应以地域开头，例如「宝鸡」；当前名称未包含申报地区「宝鸡市」"
    )
    assert "宝鸡市" in check.reasons[0].message_en


def test_missing_suffix_message_lists_every_accepted_form_of_address() -> None:
    check = check_brand_name("宝鸡面点", region="宝鸡市", industry="面点")

    assert all(suffix in check.reasons[0].message_zh for suffix in DEFAULT_SUFFIXES)


def test_configured_suffixes_replace_the_default_list() -> None:
    custom = ("管家",)

    accepted = check_brand_name("宝鸡家政管家", region="宝鸡市", industry="家政", suffixes=custom)
    refused = check_brand_name("宝鸡面点师", region="宝鸡市", industry="面点", suffixes=custom)

    assert accepted.ok
    assert [reason.code for reason in refused.reasons] == ["missing_suffix"]
    assert refused.reasons[0].message_zh.endswith("可用：管家")


def test_invalid_characters_message_names_the_space() -> None:
    check = check_brand_name("宝鸡 面点师", region="宝鸡市", industry="面点")

    assert "空格" in check.reasons[0].message_zh
    assert "space" in check.reasons[0].message_en


@pytest.mark.parametrize(("length", "too_long"), [(MAX_NAME_LENGTH, False), (13, True)])
def test_length_limit_is_inclusive(length: int, too_long: bool) -> None:
    industry = "秦岭山地生态旅游向导服务"[: length - 3]
    name = f"宝鸡{industry}员"

    check = check_brand_name(name, region="宝鸡市", industry=industry)

    assert len(name) == length
    assert ("too_long" in [reason.code for reason in check.reasons]) is too_long


def test_legacy_name_keeps_its_parts_for_display() -> None:
    check = check_brand_name("西岐名吃", region="宝鸡市", industry="小吃", legacy_names=LEGACY)

    assert check.ok
    assert check.industry_part == "西岐名吃"
    assert check.reasons[0].message_en.startswith("The name is on the legacy brand list")


@pytest.mark.parametrize(
    ("region", "industry", "suffixes"),
    [
        (" ", "面点", DEFAULT_SUFFIXES),
        ("宝鸡市", "", DEFAULT_SUFFIXES),
        ("宝鸡市", "面点", ()),
        ("宝鸡市", "面点", ("师", "")),
    ],
)
def test_missing_configuration_is_a_caller_error(
    region: str, industry: str, suffixes: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError):
        check_brand_name("宝鸡面点师", region=region, industry=industry, suffixes=suffixes)
