"""Personal data in free text: phone numbers, ID-card numbers and e-mail addresses are masked
wherever text leaves the protected places (log lines, card excerpts, group posts)."""

from __future__ import annotations

import re

_PATTERNS = (
    re.compile(r"(?<!\d)(?:\+?86[- ]?)?1[3-9]\d(?:[- ]?\d{4}){2}(?!\d)"),  # mobile
    re.compile(r"(?<!\d)0\d{2,3}-?\d{7,8}(?!\d)"),  # landline
    re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)"),  # 身份证号
    re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+"),  # e-mail
)


def redact(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub("[已隐去]", text)
    return text
