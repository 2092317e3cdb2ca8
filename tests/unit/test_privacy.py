"""Redaction: every spelling of a phone number, ID-card number, labelled QQ/WeChat id or e-mail
address is masked; case numbers, dates, times, amounts and years are left as they are."""

from __future__ import annotations

import re
import time
import unicodedata
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.privacy import MASK, redact

PROPERTY = settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def digits(text: str) -> str:
    """The digits of ``text`` as ASCII, whatever their form."""
    text = unicodedata.normalize("NFKC", text).translate(str.maketrans("〇零一二三四五六七八九幺", "001234567891"))
    return "".join(str(unicodedata.digit(c)) for c in text if c.isdigit())


@pytest.mark.parametrize(
    "text",
    [
        "电话１３８１２３４５６７８谢谢",  # full-width digits (issue 10)
        "电话138.1234.5678",
        "电话138 1234 5678",
        "电话138-1234-5678",
        "电话138 - 1234.5678",
        "电话1 3 8 1 2 3 4 5 6 7 8",
        "电话１３８－１２３４－５６７８",
        "电话１３８　１２３４　５６７８",
        "电话138。1234。5678",
        "电话+86 138 1234 5678",
        "电话0086-13812345678",
        "电话(+86)13812345678",
        "电话013812345678",
        "电话一三八一二三四五六七八",
        "座机010-62345678",
        "座机(010)62345678",
        "座机（0571）8888 1234",
        "座机0571-8888-1234",
        "座机０２１ ６２３４ ５６７８",
        "座机010 1234567",
        "身份证11010519491231002X",
        "身份证11010519491231002x号",
        "身份证110105 19491231 0021",
        "身份证１１０１０５１９４９１２３１００２Ｘ",
        "老身份证110105491231002",
        "邮箱 zhang.san+x@example.com.cn 联系",
        "邮箱ｚｈａｎｇ＠ｅｘａｍｐｌｅ．ｃｏｍ",
    ],
)
def test_masked(text: str) -> None:
    out = redact(text)
    assert MASK in out
    assert len(digits(out)) < 5, out
    assert "@" not in out and "＠" not in out


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("QQ：12345678", f"QQ：{MASK}"),
        ("qq 987654321 找我", f"qq {MASK} 找我"),
        ("ＱＱ号码是１２３４５６", f"ＱＱ号码是{MASK}"),
        ("扣扣号:55667788", f"扣扣号:{MASK}"),
        ("微信：zhang_san88", f"微信：{MASK}"),
        ("电话13812345678，QQ12345", f"电话{MASK}，QQ{MASK}"),
    ],
)
def test_labelled_ids_keep_their_label(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "LY2026-000123 已交办",
        "2024-0012号留言",
        "于2026-12-03 10:30收到，拖欠工资3000元",
        "2026年12月3日，共13件，金额138000.50元",
        "12345 个工作日",  # an unlabelled 5-digit number is no QQ
        "3#楼 2单元 1502室",
        "2025年、2026年两年",
        "项目编号 2026-13-0001",
        "（全角括号）：，。标点不变",
        "task 7281234567890123456",  # a 19-digit platform id
    ],
)
def test_left_alone(text: str) -> None:
    assert redact(text) == text


def test_only_the_number_changes() -> None:
    text = "我（张三）电话：１３８ １２３４ ５６７８，请回电！"
    assert redact(text) == f"我（张三）电话：{MASK}，请回电！"


# -- property: generated numbers in every shape, spelt any way, inside Chinese text -------------

FILLER = st.text(alphabet="我在某公司工作反映问题请尽快处理谢谢，。！：、（）“”《》联系方式电话号码身份证", max_size=12)
SEPARATORS = st.sampled_from(["", "", "", " ", "-", ".", "－", "．", "　", "—", "_", "/", "·", " - ", ". ", "  "])


@st.composite
def spelt(draw: st.DrawFn, number: str) -> str:
    """``number`` (ASCII digits, maybe an X) with each digit ASCII, full-width or a Chinese
    numeral (one spelling per number, as people write) and random separators in between."""
    style = draw(st.sampled_from(["ascii", "fullwidth", "mixed", "chinese"]))
    out = []
    for i, ch in enumerate(number):
        kind = draw(st.sampled_from(["ascii", "fullwidth"])) if style == "mixed" else style
        if ch.isdigit() and kind == "fullwidth":
            ch = chr(0xFF10 + int(ch))
        elif ch.isdigit() and kind == "chinese":
            ch = "〇一二三四五六七八九"[int(ch)]
        elif ch in "Xx" and kind == "fullwidth":
            ch = chr(ord(ch) + 0xFEE0)
        out.append(ch)
        if i < len(number) - 1:
            out.append(draw(SEPARATORS))
    return "".join(out)


def _digits(n: int, first: str = "0123456789") -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(first), st.text(alphabet="0123456789", min_size=n - 1, max_size=n - 1)).map(
        "".join
    )


MOBILE = st.tuples(st.sampled_from("3456789"), _digits(9)).map(lambda t: "1" + t[0] + t[1])
LANDLINE = st.tuples(
    st.one_of(_digits(2, "123456789"), _digits(3, "123456789")).map(lambda a: "0" + a),
    st.one_of(_digits(7), _digits(8)),
)
ID18 = st.tuples(
    _digits(6, "123456789"),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2029, 12, 31)),
    _digits(3),
    st.sampled_from("0123456789Xx"),
).map(lambda t: f"{t[0]}{t[1]:%Y%m%d}{t[2]}{t[3]}")
ID15 = st.tuples(
    _digits(6, "123456789"),
    st.dates(min_value=date(1900, 1, 1), max_value=date(1999, 12, 31)),
    _digits(3),
).map(lambda t: f"{t[0]}{t[1]:%y%m%d}{t[2]}")


@st.composite
def mobile_text(draw: st.DrawFn) -> tuple[str, str]:
    number = draw(MOBILE)
    prefix = draw(st.sampled_from(["", "", "+86", "+86 ", "0086-", "(+86)", "＋８６ ", "0"]))
    return prefix + draw(spelt(number)), number


@st.composite
def landline_text(draw: st.DrawFn) -> tuple[str, str]:
    area, local = draw(LANDLINE)
    wrap = draw(st.sampled_from(["{}", "({})", "（{}）"]))
    between = draw(SEPARATORS)
    return wrap.format(draw(spelt(area))) + between + draw(spelt(local)), area + local


@st.composite
def id_text(draw: st.DrawFn) -> tuple[str, str]:
    number = draw(st.one_of(ID18, ID15))
    return draw(spelt(number)), number


@st.composite
def qq_text(draw: st.DrawFn) -> tuple[str, str]:
    number = draw(st.integers(min_value=5, max_value=11).flatmap(lambda n: _digits(n, "123456789")))
    label = draw(st.sampled_from(["QQ", "qq", "ＱＱ", "扣扣", "QQ号", "QQ：", "qq号码:", "扣扣号 ", "QQ是"]))
    spelling = draw(st.sampled_from(["ascii", "fullwidth"]))
    shown = number if spelling == "ascii" else "".join(chr(0xFF10 + int(c)) for c in number)
    return label + shown, number


@st.composite
def email_text(draw: st.DrawFn) -> tuple[str, str]:
    local = draw(st.from_regex(r"[a-z0-9][a-z0-9._+-]{0,14}", fullmatch=True))
    domain = draw(st.from_regex(r"[a-z0-9]{1,10}(\.[a-z0-9]{1,8}){0,2}\.(com|cn|net|org)", fullmatch=True))
    address = f"{local}@{domain}"
    full_width = draw(st.booleans())
    shown = "".join(chr(ord(c) + 0xFEE0) for c in address) if full_width else address
    return shown, address


@PROPERTY
@given(FILLER, st.one_of(mobile_text(), landline_text(), id_text(), qq_text()), FILLER)
def test_no_number_survives(before: str, pii: tuple[str, str], after: str) -> None:
    shown, number = pii
    out = redact(before + shown + after)
    assert MASK in out
    # the filler has no digits: whatever digits are left (a +86) are no part of the number
    assert number[-5:] not in digits(out), out
    assert before in out and after in out


@PROPERTY
@given(FILLER, email_text(), FILLER)
def test_no_address_survives(before: str, pii: tuple[str, str], after: str) -> None:
    shown, address = pii
    out = redact(before + shown + after)
    assert address not in unicodedata.normalize("NFKC", out) and "@" not in unicodedata.normalize("NFKC", out)


CASE_NUMBER = st.tuples(st.integers(2020, 2035), st.integers(1, 999999)).map(lambda t: f"LY{t[0]}-{t[1]:06d}")
DATE = st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)).flatmap(
    lambda d: st.sampled_from([f"{d:%Y-%m-%d}", f"{d.year}年{d.month}月{d.day}日", f"{d:%Y.%m.%d}"])
)
TIME = st.tuples(st.integers(0, 23), st.integers(0, 59)).map(lambda t: f"{t[0]:02d}:{t[1]:02d}")
AMOUNT = st.one_of(
    st.integers(1, 9_999_999).map(lambda n: f"{n}元"),
    st.decimals(min_value="0.01", max_value=99999, places=2, allow_nan=False).map(lambda d: f"{d}万元"),
)
YEAR = st.integers(1949, 2100).map(lambda y: f"{y}年")


@PROPERTY
@given(st.lists(st.tuples(FILLER, st.one_of(CASE_NUMBER, DATE, TIME, AMOUNT, YEAR)), max_size=6))
def test_ordinary_numbers_are_kept(parts: list[tuple[str, str]]) -> None:
    text = "".join(f"{filler}{value}，" for filler, value in parts)
    assert redact(text) == text


def test_mask_is_no_markup() -> None:
    assert not re.search(r"[\[\]<>*_`#]", MASK)


@pytest.mark.parametrize("text", ["0" * 100_000, "a" * 100_000 + "@", "1 " * 50_000, "１" * 100_000, "QQ1" * 30_000])
def test_linear_time_on_long_input(text: str) -> None:
    # a citizen's 100k-character message must not stall a log line or a card (quadratic: minutes)
    started = time.perf_counter()
    redact(text)
    assert time.perf_counter() - started < 5
