"""Repeated messages about the same matter (同类问题重复反映): pure matching rules."""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher

_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)
#: Titles at least this similar (0..1, difflib ratio on normalised text) count as the same matter.
TITLE_SIMILARITY = 0.85


def normalise_title(title: str) -> str:
    """NFKC, lower case, punctuation and spaces removed: the form titles are compared in."""
    return _NOISE.sub("", unicodedata.normalize("NFKC", title)).lower()


def similar_titles(a: str, b: str, threshold: float = TITLE_SIMILARITY) -> bool:
    na, nb = normalise_title(a), normalise_title(b)
    if not na or not nb:
        return False
    if na == nb:
        return True
    return SequenceMatcher(None, na, nb).ratio() >= threshold


def normalise_contact(contact: str | None) -> str:
    """Digits only (phone numbers are written with spaces, dashes and +86 in many ways)."""
    digits = re.sub(r"\D", "", contact or "")
    return digits[-11:] if len(digits) >= 11 else digits


def same_petitioner(name_a: str | None, contact_a: str | None, name_b: str | None, contact_b: str | None) -> bool:
    """Same person: same contact when both have one, else the same (non-empty) name."""
    ca, cb = normalise_contact(contact_a), normalise_contact(contact_b)
    if ca and cb:
        return ca == cb
    if not name_a or not name_b:
        return False
    return normalise_title(name_a) == normalise_title(name_b)
