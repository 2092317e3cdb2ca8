"""SQL lives in store/ (issue 9, item 2): the use cases, the scheduled jobs, the reports, the
calendar and the web endpoints call store functions; they neither import sqlalchemy nor build
statements nor look at the database dialect."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "bot/handlers/commendations.py",
    "bot/handlers/deps.py",
    "bot/handlers/directory.py",
    "bot/handlers/excel_import.py",
    "bot/handlers/intake.py",
    "bot/handlers/notify.py",
    "bot/handlers/read_models.py",
    "bot/handlers/workflow.py",
    "bot/jobs.py",
    "bot/reports/compute.py",
    "bot/reports/summary.py",
    "bot/calendar/service.py",
    "bot/web/api.py",
    "bot/web/detail.py",
    "bot/web/ops.py",
]
#: calls that build a statement (``select(…)``, ``func.count()``, ``stmt.where(…)`` …)
BUILDERS = frozenset({"select", "insert", "update", "delete", "text", "and_", "or_", "aliased", "literal_column"})
METHODS = frozenset({"where", "execute", "scalars", "scalar_one", "scalar_one_or_none", "group_by", "order_by"})


def findings(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"imports {a.name}" for a in node.names if a.name.split(".")[0] == "sqlalchemy"]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "sqlalchemy":
            found.append(f"imports from {node.module}")
        elif isinstance(node, ast.Call):
            f = node.func
            if isinstance(f, ast.Name) and f.id in BUILDERS:
                found.append(f"line {node.lineno}: {f.id}(…)")
            elif isinstance(f, ast.Attribute) and f.attr in METHODS:
                found.append(f"line {node.lineno}: .{f.attr}(…)")
            elif isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) and f.value.id == "func":
                found.append(f"line {node.lineno}: func.{f.attr}(…)")
        elif isinstance(node, ast.Attribute) and node.attr == "dialect":
            found.append(f"line {node.lineno}: looks at .dialect")
    return found


@pytest.mark.parametrize("module", MODULES)
def test_module_builds_no_sql(module: str) -> None:
    assert findings((ROOT / module).read_text(encoding="utf-8")) == []


def test_the_scan_sees_sql() -> None:
    source = (
        "from sqlalchemy import select\n"
        "async def f(session, Case, bind):\n"
        "    await session.execute(select(Case).where(Case.id == 1))\n"
        "    n = func.count()\n"
        "    return bind.dialect.name\n"
    )
    assert len(findings(source)) == 6
