"""The Baoji brand-name rule: 地域 + 产业/行业/产品 + 人 (BJ-3.3, DOMAIN §3(a) step 3).

"人" stands for a 称谓 (form of address) such as 匠、师、员; the policy ends the list with "等",
so the accepted suffixes are a parameter.  Qinghai has no naming rule: whether to apply this
check is the caller's decision (the jurisdiction pack), not this module's.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass

MAX_NAME_LENGTH = 12

DEFAULT_SUFFIXES: tuple[str, ...] = (
    "匠人", "师傅", "匠", "师", "员", "工", "嫂", "姐",
    "哥", "娃", "客", "郎", "手", "厨", "农", "娘",
)  # fmt: skip

# Latin letters, digits and CJK ideographs, including the extension blocks where rare
# place-name characters live.
_ALLOWED_CHAR = re.compile(r"[A-Za-z0-9\u3400-\u4dbf\u4e00-\u9fff\U00020000-\U0003134f]")

# 化隆回族自治县 → 化隆, 海西蒙古族藏族自治州 → 海西: drop the nationalities and 自治X.
_AUTONOMOUS_AREA = re.compile(r"^(?P<core>.{2,}?)(?:[^族]{1,3}族)+自治[州县旗区]$")
# Longer suffixes first so that 高新区 is not read as 高 + 新区.
_ADMIN_SUFFIXES = ("高新区", "新区", "地区", "省", "市", "州", "盟", "县", "区", "旗")


@dataclass(frozen=True)
class NameReason:
    code: str
    message_zh: str
    message_en: str


@dataclass(frozen=True)
class NameCheck:
    ok: bool
    name: str
    region_part: str | None
    industry_part: str | None
    suffix: str | None
    reasons: tuple[NameReason, ...]


@dataclass(frozen=True)
class _Parts:
    region: str | None
    region_misplaced: bool
    industry: str | None
    suffix: str | None
    suffix_misplaced: bool


def region_forms(region: str) -> tuple[str, ...]:
    """The spellings of ``region`` a name may start with, longest first.

    The administrative suffix may be dropped (宝鸡市 → 宝鸡, 湟中区 → 湟中) unless that would
    leave a single character: 眉县 and 陇县 are only ever written in full.
    """
    region = region.strip()
    autonomous = _AUTONOMOUS_AREA.match(region)
    if autonomous:
        return (region, autonomous["core"])
    for suffix in _ADMIN_SUFFIXES:
        core = region.removesuffix(suffix)
        if core != region and len(core) >= 2:
            return (region, core)
    return (region,)


def check_brand_name(
    name: str,
    *,
    region: str,
    industry: str,
    suffixes: Sequence[str] = DEFAULT_SUFFIXES,
    legacy_names: Collection[str] = (),
) -> NameCheck:
    """Check ``name`` against the naming rule for the declared ``region`` and ``industry``.

    Every problem found is reported, each with a message the applicant can act on.  A name on
    the ``legacy_names`` list (such as 西岐名吃, DOMAIN §7.13) passes with a ``legacy_override``
    reason.  Raises ``ValueError`` when ``region`` or ``industry`` is blank or ``suffixes`` has
    no usable entry: that is the caller's configuration error, not the applicant's.
    """
    if not region.strip() or not industry.strip():
        raise ValueError("region and industry must both be given to check a brand name")
    if not suffixes or not all(suffix.strip() for suffix in suffixes):
        raise ValueError("suffixes must list at least one non-blank form of address (称谓)")
    region, industry = region.strip(), industry.strip()
    forms = region_forms(region)
    stripped = name.strip()
    if not stripped:
        return NameCheck(False, name, None, None, None, (_empty(),))

    reasons: list[NameReason] = []
    invalid = [char for char in stripped if not _ALLOWED_CHAR.fullmatch(char)]
    if invalid:
        reasons.append(_invalid_characters(invalid))
    if len(stripped) > MAX_NAME_LENGTH:
        reasons.append(_too_long(len(stripped)))
    # The structure is read without the invalid characters so that one stray space does not
    # also show up as a missing suffix.
    cleaned = "".join(char for char in stripped if char not in invalid)
    parts = _parse(cleaned, forms, suffixes)

    if stripped in legacy_names:
        return _verdict(name, parts, [_legacy_override()], ok=True)
    reasons.extend(_structure_reasons(parts, region, forms[-1], industry, suffixes))
    return _verdict(name, parts, reasons, ok=not reasons)


def _verdict(name: str, parts: _Parts, reasons: list[NameReason], *, ok: bool) -> NameCheck:
    return NameCheck(ok, name, parts.region, parts.industry, parts.suffix, tuple(reasons))


def _parse(name: str, forms: Sequence[str], suffixes: Sequence[str]) -> _Parts:
    """Locate the region anywhere and a suffix at the end (or, misplaced, at the start)."""
    region = next((form for form in forms if form in name), None)
    region_start = name.find(region) if region else -1
    taken = set(range(region_start, region_start + len(region))) if region else set()
    by_length = sorted(suffixes, key=len, reverse=True)

    suffix = next(
        (s for s in by_length if name.endswith(s) and taken.isdisjoint(_tail(name, s))), None
    )
    suffix_misplaced = False
    if suffix:
        taken.update(_tail(name, suffix))
    else:
        suffix = next(
            (s for s in by_length if name.startswith(s) and taken.isdisjoint(range(len(s)))),
            None,
        )
        if suffix:
            taken.update(range(len(suffix)))
            suffix_misplaced = True
    rest = "".join(char for index, char in enumerate(name) if index not in taken)
    return _Parts(region, region_start > 0, rest or None, suffix, suffix_misplaced)


def _tail(name: str, suffix: str) -> range:
    return range(len(name) - len(suffix), len(name))


def _structure_reasons(
    parts: _Parts, region: str, short_region: str, industry: str, suffixes: Sequence[str]
) -> list[NameReason]:
    reasons: list[NameReason] = []
    if parts.region is None:
        reasons.append(_missing_region(region, short_region))
    if not _names_industry(parts.industry, industry):
        reasons.append(_missing_industry(industry))
    if parts.suffix is None:
        reasons.append(_missing_suffix(suffixes))
    if parts.region_misplaced or parts.suffix_misplaced:
        reasons.append(_wrong_order(short_region, industry, suffixes))
    return reasons


def _names_industry(text: str | None, industry: str) -> bool:
    """True when ``text`` shares a recognisable run with the declared industry.

    Two characters are enough (面点 for 面点制作, 建筑 for 建筑业); a one-character industry
    must appear as such.
    """
    return bool(text) and _longest_shared_run(text, industry) >= min(2, len(industry))


def _longest_shared_run(a: str, b: str) -> int:
    best = 0
    for start in range(len(a)):
        for stop in range(start + best + 1, len(a) + 1):
            if a[start:stop] not in b:
                break
            best = stop - start
    return best


def _empty() -> NameReason:
    return NameReason("empty", "名称不能为空", "The brand name is empty.")


def _too_long(length: int) -> NameReason:
    return NameReason(
        "too_long",
        f"名称过长：共{length}个字符，最多{MAX_NAME_LENGTH}个",
        f"The name has {length} characters; at most {MAX_NAME_LENGTH} are allowed.",
    )


def _invalid_characters(chars: Sequence[str]) -> NameReason:
    shown = list(dict.fromkeys(chars))
    zh = "、".join("空格" if char.isspace() else f"「{char}」" for char in shown)
    en = ", ".join("space" if char.isspace() else f"“{char}”" for char in shown)
    return NameReason(
        "invalid_characters",
        f"名称只能包含汉字、字母和数字，请删除：{zh}",
        f"Only Chinese characters, Latin letters and digits are allowed; remove: {en}.",
    )


def _missing_region(region: str, short_region: str) -> NameReason:
    return NameReason(
        "missing_region",
        f"名称应以地域开头，例如「{short_region}」；当前名称未包含申报地区「{region}」",
        f"The name must start with the region, e.g. “{short_region}”; "
        f"it does not contain the declared region “{region}”.",
    )


def _missing_industry(industry: str) -> NameReason:
    return NameReason(
        "missing_industry",
        f"地域与称谓之间应写明产业、行业或产品，例如申报的「{industry}」",
        f"Between the region and the form of address, name the industry, trade or product, "
        f"e.g. the declared “{industry}”.",
    )


def _missing_suffix(suffixes: Sequence[str]) -> NameReason:
    return NameReason(
        "missing_suffix",
        f"名称应以称谓结尾，可用：{'、'.join(suffixes)}",
        f"The name must end with a form of address (称谓), one of: {', '.join(suffixes)}.",
    )


def _wrong_order(short_region: str, industry: str, suffixes: Sequence[str]) -> NameReason:
    example = f"{short_region}{industry}{suffixes[0]}"
    return NameReason(
        "wrong_order",
        f"名称顺序应为：地域＋产业/行业/产品＋称谓，例如「{example}」",
        f"The order must be region + industry/trade/product + form of address, e.g. “{example}”.",
    )


def _legacy_override() -> NameReason:
    return NameReason(
        "legacy_override",
        "该名称列入历史品牌名单，不适用命名规则",
        "The name is on the legacy brand list; the naming rule is waived.",
    )
