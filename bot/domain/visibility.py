"""Who may see a case, and who may see the petitioner (design.md "Who sees a case"; issue 10).

One rule, used by every reader: chat (`查询`, `待办`), the detail page, cards, the API, exports and
the desk. The table in docs/visibility.md states the same rule for people; a test walks it.

- Office roles (dispatcher, supervisor, leader, admin) see every case — except the sensitive
  categories (config ``[cases] sensitive_categories``, default 党风廉政 and 涉法涉诉), which only
  supervisors, leaders and admins see among the office roles.
- A unit's members (handler, unit leader) see the cases of their unit, as lead unit (主办) or as
  co-unit (协办), sensitive or not: they were assigned it.
- Nobody else sees a case at all.
- The petitioner's name and contact: the lead unit's handlers and leader and the office roles
  that see the case; a co-unit gets the matter, not the person.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from enum import IntEnum

from bot.domain.states import Role

#: What the refusal says, everywhere (chat, page, API).
NOT_VISIBLE = "无权查看此件"

OFFICE_ROLES: frozenset[Role] = frozenset({Role.DISPATCHER, Role.SUPERVISOR, Role.LEADER, Role.ADMIN})
#: Office roles that also see the sensitive categories.
SENSITIVE_ROLES: frozenset[Role] = frozenset({Role.SUPERVISOR, Role.LEADER, Role.ADMIN})
UNIT_MEMBER_ROLES: frozenset[Role] = frozenset({Role.HANDLER, Role.UNIT_LEADER})
DEFAULT_SENSITIVE: tuple[str, ...] = ("党风廉政", "涉法涉诉")


class Sight(IntEnum):
    """How much of a case a person sees; ordered, so ``sight >= Sight.CASE`` reads naturally."""

    NONE = 0  # not the case at all: "无权查看此件", no link
    CASE = 1  # the case without the petitioner's name and contact
    FULL = 2  # the case with the petitioner's name and contact


@dataclass(frozen=True)
class Viewer:
    """A person as the rule sees them: their roles, and the units they are a member of
    (unit roles count only in those units)."""

    roles: frozenset[Role]
    units: frozenset[int] = frozenset()

    @classmethod
    def of(cls, roles: Iterable[Role | str], units: Iterable[int] = ()) -> Viewer:
        return cls(frozenset(Role(r) for r in roles), frozenset(units))

    @property
    def is_system(self) -> bool:
        return Role.SYSTEM in self.roles


@dataclass(frozen=True)
class CaseScope:
    """What the rule needs to know of a case."""

    unit: int | None  # the lead unit (主办); None before 交办
    co_units: frozenset[int] = frozenset()
    category: str | None = None


def sight(viewer: Viewer, case: CaseScope, sensitive: Collection[str] = DEFAULT_SENSITIVE) -> Sight:
    """How much of ``case`` ``viewer`` may see."""
    if viewer.is_system:
        return Sight.FULL
    office = viewer.roles & (SENSITIVE_ROLES if case.category in sensitive else OFFICE_ROLES)
    if office:
        return Sight.FULL
    if not viewer.roles & UNIT_MEMBER_ROLES:
        return Sight.NONE
    if case.unit is not None and case.unit in viewer.units:
        return Sight.FULL
    if viewer.units & case.co_units:
        return Sight.CASE
    return Sight.NONE


@dataclass(frozen=True)
class ListScope:
    """The same rule for a list of cases, in the form a query can apply:
    every case (``all_units``) or only those whose lead or co-unit is in ``units``, less the
    ``hidden_categories``."""

    all_units: bool
    units: frozenset[int]
    hidden_categories: frozenset[str]

    @property
    def empty(self) -> bool:
        return not self.all_units and not self.units


def list_scope(viewer: Viewer, sensitive: Collection[str] = DEFAULT_SENSITIVE) -> ListScope:
    """Which cases a list shown to ``viewer`` may contain (agrees with :func:`sight` > NONE)."""
    units = viewer.units if viewer.roles & UNIT_MEMBER_ROLES else frozenset()
    if viewer.is_system or viewer.roles & SENSITIVE_ROLES:
        return ListScope(True, frozenset(), frozenset())
    if viewer.roles & OFFICE_ROLES:
        # a dispatcher sees every case but the sensitive ones, unless their own unit has it
        return ListScope(True, units, frozenset(sensitive))
    return ListScope(False, units, frozenset())


def in_scope(scope: ListScope, case: CaseScope) -> bool:
    """Whether a case passes ``scope`` — the Python twin of the store's list filter."""
    mine = case.unit in scope.units or bool(scope.units & case.co_units)
    if scope.all_units:
        return mine or case.category not in scope.hidden_categories
    return mine
