"""The sandbox (模拟工作台) at /sandbox/: a person's chat with the bot as WeCom shows it, the
supervision group, each unit's messages, a clock to advance and a demo office to load.
Served by ``liuyan serve`` when ``[sandbox] enabled``; pages in pages.py, the platform edge in
edge.py, live updates in live.py, the clock in rehearsal.py."""

from __future__ import annotations

from bot.web.sandbox.pages import add_routes

__all__ = ["add_routes"]
