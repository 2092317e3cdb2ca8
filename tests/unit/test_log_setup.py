"""The log `liuyan serve` writes: no phone number in any part of a record (message, arguments,
exception text, traceback, stack), and no line a request can forge."""

from __future__ import annotations

import io
import logging
import re
import unicodedata
from collections.abc import Iterator

import pytest

from bot.runtime.log_setup import SafeFormatter, escape_control, setup_logging

PHONES = ["１３８１２３４５６７８", "138.1234.5678", "138 1234 5678", "+86 139-8765-4321", "0571-8888 1234"]
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} [A-Z]+ ")


def leaked(text: str) -> list[str]:
    """The phone numbers of ``PHONES`` still readable in ``text`` (any spelling)."""
    flat = re.sub(r"\D", "", unicodedata.normalize("NFKC", text))
    return [p for p in PHONES if re.sub(r"\D", "", unicodedata.normalize("NFKC", p))[-8:] in flat]


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter())
    logger = logging.getLogger("tests.log_setup")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def _driver_error(phone: str) -> None:
    # like a database driver quoting the parameters of a failed statement
    raise ValueError(f"insert failed [parameters: ('李四', '{phone}')]\n(Background: https://sqlalche.me/e/20/gkpj)")


def test_exception_and_traceback_hold_no_phone(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    for phone in PHONES:
        try:
            _driver_error(phone)
        except ValueError:
            logger.exception("saving case for %s failed", phone)
    out = stream.getvalue()
    assert out.count("Traceback (most recent call last):") == len(PHONES)
    assert "ValueError: insert failed" in out and "李四" in out
    assert leaked(out) == []


def test_chained_exception_and_stack_info(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    try:
        try:
            raise KeyError("13812345678")
        except KeyError as exc:
            raise RuntimeError("contact 139 8765 4321 unreachable") from exc
    except RuntimeError:
        logger.error("failed", exc_info=True, stack_info=True)
    logger.info("args %s %r", "０５７１－８８８８ １２３４", {"contact": "138.1234.5678"})
    out = stream.getvalue()
    assert "KeyError" in out and "Stack (most recent call last)" in out
    assert leaked(out) == [] and "13812345678" not in out


def test_a_request_value_cannot_forge_a_line(captured: tuple[logging.Logger, io.StringIO]) -> None:
    logger, stream = captured
    forged = "LY2026-000001\n2026-12-03 10:00:00,000 INFO bot.web: admin logged in\r\x1b[2J"
    logger.warning("no such case %s", forged)
    try:
        raise LookupError(f"case {forged}")
    except LookupError:
        logger.exception("lookup failed")
    lines = stream.getvalue().splitlines()
    starts = [ln for ln in lines if RECORD_START.match(ln)]
    assert len(starts) == 2  # our two records, nothing else at column 0
    assert all(RECORD_START.match(ln) or ln.startswith("  ") for ln in lines)
    assert "LY2026-000001\\n2026-12-03" in lines[0] and "\\r\\x1b[2J" in lines[0]
    assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()


def test_escape_control() -> None:
    assert escape_control("a\nb\rc\td\x00\u2028") == "a\\nb\\rc\td\\x00\\x2028"


def test_serve_logging_uses_the_safe_formatter(capsys: pytest.CaptureFixture[str]) -> None:
    root = logging.getLogger()
    saved, level = root.handlers[:], root.level
    try:
        setup_logging("INFO")
        assert [type(h.formatter) for h in root.handlers] == [SafeFormatter]
        try:
            _driver_error("138 1234 5678")
        except ValueError:
            logging.getLogger("bot.test").exception("boom %s", "１３８１２３４５６７８")
        err = capsys.readouterr().err
    finally:
        root.handlers[:] = saved
        root.setLevel(level)
    assert "boom" in err and "Traceback" in err and leaked(err) == []
