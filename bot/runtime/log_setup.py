"""Logging set-up with a last line of defence for privacy and for the integrity of the log.

Every line the handlers of ``liuyan serve`` write goes through ``SafeFormatter``:

- personal data (``bot.privacy.redact``: phone numbers in any spelling, ID-card numbers, labelled
  QQ/WeChat ids, e-mail addresses) is masked in the *final* text — the message with its
  arguments, the exception text and the traceback, the stack info — whatever code logged it;
- control characters in the message are shown escaped (``\\n``, ``\\r``, ``\\x1b``…), so a value
  taken from a request (a ``%0A`` in a URL) cannot start a forged log line or move the cursor;
- the lines of a traceback or stack dump are indented, so every line at column 0 is the start of
  a real record (an exception message with a line break cannot forge one either).
"""

from __future__ import annotations

import logging
import re

from bot.privacy import redact

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")  # tab (\x09) is harmless
_NAMED = {"\n": "\\n", "\r": "\\r"}


def escape_control(text: str) -> str:
    """Control characters (line breaks included) as visible escapes: one value, one line."""
    return _CONTROL.sub(lambda m: _NAMED.get(m.group(0)) or f"\\x{ord(m.group(0)):02x}", text)


def _indented(block: str) -> str:
    return "\n".join("  " + escape_control(line) for line in block.splitlines())


class SafeFormatter(logging.Formatter):
    """A formatter whose output holds no personal data and no forged lines (module docstring)."""

    def __init__(self, fmt: str = FORMAT, datefmt: str | None = None) -> None:
        super().__init__(fmt, datefmt)

    def format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            message = f"{record.msg!r} % {record.args!r}"
        # mask before escaping: an escaped line break (``\\n``) no longer reads as a separator
        record.message = escape_control(redact(message))
        if self.usesTime():
            record.asctime = self.formatTime(record, self.datefmt)
        text = self.formatMessage(record)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            text += "\n" + _indented(redact(record.exc_text))
        if record.stack_info:
            text += "\n" + _indented(redact(self.formatStack(record.stack_info)))
        return redact(text)


class RedactingFilter(logging.Filter):
    """Masks personal data in the record itself (for handlers with a formatter of their own)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not hide the record
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter())
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # aiosqlite logs every statement with its parameters at DEBUG: personal data, never wanted.
    logging.getLogger("aiosqlite").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)  # one line a minute otherwise
