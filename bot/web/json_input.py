"""Strict JSON for the intake API: the body is parsed only when its nesting is shallow, numbers
are small and finite, strings are valid Unicode and no key repeats. Each refusal names the
top-level field it sits in, so the client can fix it; nothing here raises anything else."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

from bot.handlers.intake import InputError

#: deepest nesting of arrays/objects accepted (an intake body needs 2)
MAX_DEPTH: Final = 8
#: longest number accepted, in characters (a 15-digit integer is exact as a float too)
MAX_NUMBER_CHARS: Final = 20

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BRACKETS = re.compile(r"[\[\]{}]")


class _Bad:
    """A value refused while parsing, kept in place so the refusal can name its field."""

    def __init__(self, code: str, message: str) -> None:
        self.code = code
        self.message = message


def _int(text: str) -> int | _Bad:
    if len(text.lstrip("-")) > MAX_NUMBER_CHARS:
        return _Bad("number_too_large", "数字过大")
    return int(text)


def _float(text: str) -> float | _Bad:
    value = float(text)
    if len(text) > MAX_NUMBER_CHARS * 2 or not math.isfinite(value):
        return _Bad("number_too_large", "数字过大")
    return value


def _constant(text: str) -> _Bad:
    return _Bad("not_a_number", f"不接受 {text}")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            result[key] = _Bad("duplicate_key", "字段重复")
        else:
            result[key] = value
    return result


def _depth(text: str) -> int:
    deepest = depth = 0
    for bracket in _BRACKETS.findall(_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _check(field: str, value: Any) -> None:
    if isinstance(value, _Bad):
        raise InputError(field, value.message, code=value.code)
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise InputError(field, "含有无效的 Unicode 字符（孤立的代理项）", code="invalid_text") from None
    elif isinstance(value, list):
        for item in value:
            _check(field, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(field, key)
            _check(field, item)


def parse_strict(raw: bytes) -> Any:
    """The parsed body; :class:`InputError` (field, message, code) for anything refused."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError("body", "不是有效的 UTF-8 文本", code="bad_json") from None
    if _depth(text) > MAX_DEPTH:
        raise InputError("body", f"嵌套过深（最多 {MAX_DEPTH} 层）", code="too_deep")
    try:
        data = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant, object_pairs_hook=_pairs)
    except (json.JSONDecodeError, RecursionError, ValueError) as exc:
        raise InputError("body", f"不是有效的 JSON：{str(exc)[:200]}", code="bad_json") from None
    if isinstance(data, dict):
        for key, value in data.items():
            _check("body", key)  # a field name that cannot be printed is named "body"
            _check(key, value)
    else:
        _check("body", data)
    return data
