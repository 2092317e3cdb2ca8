"""Fitting text into a platform's size limit (UTF-8 bytes) between lines, never mid-line.

A list that does not fit keeps as many whole lines as it can and says how many are left; a
message that is too long anyway is cut at its last whole line that fits.
"""

from __future__ import annotations

from collections.abc import Callable

#: the summary line of what did not fit: "另有N件，请发送待办"
MORE: Callable[[int], str] = lambda n: f"……另有{n}件，请发送“待办”查看。"  # noqa: E731

#: the most restrictive text size of the platforms (WeCom text and markdown, spec §3.3/§3.4)
DEFAULT_BYTES = 2048


def size(text: str) -> int:
    return len(text.encode("utf-8"))


def fit_lines(
    header: str,
    lines: list[str],
    limit: int = DEFAULT_BYTES,
    more: Callable[[int], str] = MORE,
    *,
    hidden: int = 0,
) -> str:
    """``header`` then as many of ``lines`` as fit within ``limit`` bytes, with the summary
    ``more(n)`` of the ``n`` lines left out (itself always kept). ``hidden``: lines left out
    already by the caller (counted in the summary)."""
    text = "\n".join([header, *lines])
    if not hidden and size(text) <= limit:
        return text
    kept: list[str] = []
    for i, line in enumerate(lines):
        candidate = "\n".join([header, *kept, line, more(len(lines) - i - 1 + hidden)])
        if size(candidate) > limit:
            break
        kept.append(line)
    return clip("\n".join([header, *kept, more(len(lines) - len(kept) + hidden)]), limit)


def clip(text: str, limit: int, marker: str = "……（内容过长，未完）") -> str:
    """``text`` when it fits; else its whole lines that fit, then ``marker``. A single line too
    long on its own is cut at a character boundary (there is no line to keep whole)."""
    if size(text) <= limit:
        return text
    budget = limit - size("\n" + marker)
    kept: list[str] = []
    used = 0
    for line in text.split("\n"):
        add = size(line) + (1 if kept else 0)
        if used + add > budget:
            break
        kept.append(line)
        used += add
    if not kept:
        cut = text.encode("utf-8")[: max(0, budget)].decode("utf-8", errors="ignore")
        return f"{cut}\n{marker}" if size(f"{cut}\n{marker}") <= limit else cut
    return "\n".join([*kept, marker])
