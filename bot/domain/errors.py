"""One error vocabulary for everything a person can be told "no" about.

A :class:`UserError` is a request refused for a reason the person can act on — a wrong state, a
missing field, an unknown unit, a file that is not a workbook. ``code`` is stable for programs,
``message`` is for people (中文), ``field`` names the input at fault when there is one. The CLI,
the API and chat each catch ``UserError`` once and show it their way (one line, a JSON error, a
chat reply); anything else is a bug and is logged as one.
"""

from __future__ import annotations


class UserError(Exception):
    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return self.message
