"""Personal data in free text, masked wherever text leaves the protected places (log lines, card
excerpts, group posts). The detail page and the database keep the full text.

What is masked (each replaced by ``MASK``):

- mobile numbers: ``1[3-9]`` + 9 digits, optionally after ``+86``/``0086``/``86``/``0``;
- landlines with an area code: ``0`` + 2–3 digits (optionally in parentheses), then 7–8 digits;
- ID-card numbers: 18 characters (6-digit area, ``18``/``19``/``20`` + year, month, day, 3 digits,
  a check digit or ``X``/``x``) and the old 15-digit ones (area, yymmdd, 3 digits);
- QQ numbers when labelled (``QQ``/``qq``/``扣扣``/``企鹅号``, optionally ``号``/``号码`` and a
  colon): the 5–11 digits after the label, the label is kept; likewise labelled WeChat ids
  (``微信``/``微信号``/``vx``/``wx`` + an id of 6–20 letters, digits, ``-``/``_``);
- e-mail addresses.

How the digits may be written: any mix of ASCII, full-width (``１３８``) and other Unicode digit
forms, and Chinese numerals (``一三八…``, ``〇``/``零``/``幺``); between any two digits up to three
separators (spaces of any kind, dots, dashes and hyphens of any kind, underscores, slashes, middle
dots, ``。``). Matching runs on an NFKC-normalised copy; the mask is put on the original text, so
everything else (full-width punctuation included) is left exactly as it was.

Left alone on purpose: case numbers (``LY2026-000123``), dates, times, amounts (``3000元``),
years, counts — none of them has the shape above. A landline without its area code is not
masked (7–8 digits are too often something else).
"""

from __future__ import annotations

import re
import unicodedata

MASK = "［已隐去］"  # full-width brackets: inert in every markdown dialect we post to

_CN_DIGITS = str.maketrans("〇零一二三四五六七八九幺", "001234567891")

# separators people put between digits (after NFKC: full-width forms are ASCII already)
_SEP = r"[\s.\-_/\\·•・。‐‑‒–—―−~]"
_S = f"{_SEP}{{0,3}}"


def _spaced(*classes: str) -> str:
    """One digit class after another, any separators between them."""
    return _S.join(classes)


def _n(cls: str, count: int) -> list[str]:
    return [cls] * count


_D = r"\d"
_MOBILE = (
    rf"(?:(?:\((?:\+|00)?86\)|(?:\+|00)?86|0){_S})?"  # +86 / 0086 / (86) / a long-distance 0
    + _spaced("1", "[3-9]", *_n(_D, 9))
)
_LANDLINE = (
    rf"(?:\(0{_S}[1-9]{_S}\d(?:{_S}\d)?{_S}\)|0{_S}[1-9]{_S}\d(?:{_S}\d)?){_S}" + _spaced(*_n(_D, 7))
) + rf"(?:{_S}\d)?"
_ID18 = (
    _spaced("[1-9]", *_n(_D, 5), "[12]", *_n(_D, 3), "[01]", _D, "[0-3]", _D, *_n(_D, 3), "[0-9Xx]") + "(?![A-Za-z])"
)
_ID15 = _spaced("[1-9]", *_n(_D, 5), _D, _D, "[01]", _D, "[0-3]", _D, *_n(_D, 3))
_EMAIL = r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+\s?@\s?[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
_QQ = r"(?i:qq|扣扣|企鹅)(?:号码|号)?\s*[:：是为]?\s*(?P<qq>[1-9](?:" + _S + r"\d){4,10})"
_WX = r"(?<![A-Za-z])(?i:微信号?|vx|wx|weixin|wechat)\s*(?:号码|号)?\s*[:：是为]?\s*(?P<wx>[A-Za-z][-_A-Za-z0-9]{5,19})"

# one scan, alternatives in priority order: the longest shapes first, numbers bounded by non-digits
_PII = re.compile(
    rf"(?P<email>{_EMAIL})"
    rf"|{_QQ}(?!\d)"
    rf"|{_WX}(?![-_A-Za-z0-9])"
    rf"|(?<!\d)(?:{_ID18}|{_ID15}|{_MOBILE}|{_LANDLINE})(?!\d)"
)


def _normalised(text: str) -> tuple[str, list[int]]:
    """NFKC (and Chinese numerals as digits), character by character, with for each character of
    the result the index of the original character it came from."""
    out: list[str] = []
    origin: list[int] = []
    for i, ch in enumerate(text):
        norm = unicodedata.normalize("NFKC", ch).translate(_CN_DIGITS) if ord(ch) > 127 else ch
        if ch.isdigit() and not norm.isascii():  # digits of other scripts
            norm = str(unicodedata.digit(ch, 0))
        out.append(norm)
        origin.extend([i] * len(norm))
    return "".join(out), origin


def pii_spans(text: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` ranges of ``text`` that hold personal data."""
    norm, origin = _normalised(text)
    spans: list[tuple[int, int]] = []
    for m in _PII.finditer(norm):
        group = "qq" if m.group("qq") else "wx" if m.group("wx") else 0
        start, end = m.span(group)
        if start == end:
            continue
        spans.append((origin[start], origin[end - 1] + 1))
    return spans


def redact(text: str) -> str:
    """``text`` with personal data replaced by ``MASK``; everything else unchanged."""
    if not text:
        return text
    spans = pii_spans(text)
    if not spans:
        return text
    parts: list[str] = []
    last = 0
    for start, end in spans:
        parts += [text[last:start], MASK]
        last = end
    parts.append(text[last:])
    return "".join(parts)
