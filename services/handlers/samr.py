"""Handlers of the market regulation department (samr): trademarks (BJ-4.3, QH-07)."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from services.handlers.registry import HandlerCall, HandlerRegistry

# Registration numbers issued today have 7 or 8 digits; the certificate prints 第12345678号.
REGISTRATION_NUMBER = re.compile(r"^第?([0-9]{7,8})号?$")
ADVICE_REGISTER = "建议申请商标注册 (BJ-4.3 / QH-07)"
ADVICE_BAD_NUMBER = "商标注册号应为7至8位数字（商标注册证上的「第12345678号」），请核对后重新填写"


def register(registry: HandlerRegistry) -> None:
    registry.register("samr.trademark_check")(trademark_check)


def trademark_check(call: HandlerCall) -> dict[str, Any]:
    """Check the format of the declared param ``registration_number``.

    ``registered`` means a well-formed number was declared; the registry itself is not queried.
    """
    raw = call.params.get("registration_number")
    if isinstance(raw, bool) or not isinstance(raw, str | int | None):
        raise ValueError("parameter 'registration_number' must be a string or an integer")
    # NFKC turns full-width digits (１２３) into ASCII; spaces inside the number are typos.
    text = "".join(unicodedata.normalize("NFKC", str(raw if raw is not None else "")).split())
    if not text:
        return _result(None, registered=False, advice_zh=ADVICE_REGISTER)
    match = REGISTRATION_NUMBER.fullmatch(text)
    if match is None:
        return _result(text, registered=False, advice_zh=ADVICE_BAD_NUMBER)
    return _result(match[1], registered=True, advice_zh=None)


def _result(number: str | None, *, registered: bool, advice_zh: str | None) -> dict[str, Any]:
    return {
        "declared": number is not None,
        "registered": registered,
        "number": number,
        "advice_zh": advice_zh,
    }
