"""The visibility rule (bot/domain/visibility.py) applied to stored people and cases, with the
sensitive categories from config: one call for every reader (chat, detail page, notifier)."""

from __future__ import annotations

from bot.config import Config
from bot.domain.lifecycle import Actor
from bot.domain.visibility import CaseScope, ListScope, Sight, Viewer, list_scope, sight
from store.models import Case


def viewer_of(actor: Actor) -> Viewer:
    return Viewer(actor.roles, actor.unit_ids)


def scope_of(case: Case) -> CaseScope:
    return CaseScope(case.unit_id, frozenset(int(u) for u in case.co_unit_ids or []), case.category)


def sight_of(config: Config, actor: Actor, case: Case) -> Sight:
    """How much of ``case`` ``actor`` may see (NONE: "无权查看此件", no link)."""
    return sight(viewer_of(actor), scope_of(case), config.cases.sensitive_categories)


def may_see(config: Config, actor: Actor, case: Case) -> bool:
    return sight_of(config, actor, case) > Sight.NONE


def lists_for(config: Config, actor: Actor) -> ListScope:
    """Which cases a list shown to ``actor`` may contain (store.visible applies it)."""
    return list_scope(viewer_of(actor), config.cases.sensitive_categories)
