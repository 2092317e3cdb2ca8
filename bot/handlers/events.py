"""Kept so that older imports work: the neutral inbound event lives in :mod:`bot.ports`."""

from __future__ import annotations

from bot.ports import Inbound, Kind

__all__ = ["Inbound", "Kind"]
