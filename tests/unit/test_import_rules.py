"""The direction of imports, checked by reading the source (AST): a package may not import what
sits above it. One rule per row of ``RULES``; every import statement counts, also late ones
inside functions and ``if TYPE_CHECKING`` blocks."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: (package folder, modules it must not import: a name and everything below it)
RULES: list[tuple[str, tuple[str, ...]]] = [
    # platform adapters speak bot.ports; the runtime injects storage, wake-ups and look-ups
    ("bot/platforms", ("sqlalchemy", "store", "bot.runtime", "bot.handlers.deps", "bot.inbound")),
]


def _module_of(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported(path: Path, root: Path = ROOT) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``; ``from a import b`` yields
    ``a.b`` too, so that ``from bot import runtime`` is caught as ``bot.runtime``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_of(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            yield node.lineno, module
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}"


def _matches(module: str, forbidden: str) -> bool:
    return module == forbidden or module.startswith(forbidden + ".")


def violations(folder: str, forbidden: tuple[str, ...], root: Path = ROOT) -> list[str]:
    found = []
    for path in sorted((root / folder).rglob("*.py")):
        for line, module in imported(path, root):
            if any(_matches(module, f) for f in forbidden):
                found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return sorted(set(found))


@pytest.mark.parametrize(("folder", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_import_rule(folder: str, forbidden: tuple[str, ...]) -> None:
    assert (ROOT / folder).is_dir()
    assert violations(folder, forbidden) == []


def test_the_scan_sees_every_form_of_import(tmp_path: Path) -> None:
    """The checker itself: plain, from, relative and late imports are all found."""
    pkg = tmp_path / "bot" / "platforms" / "demo"
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "edge.py").write_text(
        "import sqlalchemy.orm\n"
        "from store.models import CardTask\n"
        "from bot import runtime\n"
        "from ...handlers import deps\n"
        "def late():\n"
        "    from bot.runtime.inbound import EventStore\n"
        "from bot.ports import Inbound\n"
        "from bot.handlers.events import Inbound as Old\n"
    )
    found = violations("bot/platforms", RULES[0][1], tmp_path)
    assert [f.split(" imports ")[1] for f in found] == [
        "sqlalchemy.orm",
        "store.models",
        "store.models.CardTask",
        "bot.runtime",
        "bot.handlers.deps",
        "bot.runtime.inbound",
        "bot.runtime.inbound.EventStore",
    ]
