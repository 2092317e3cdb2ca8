"""The architecture's import rules (README "Architecture"), checked by reading the source.

- bot/domain imports only the standard library and itself;
- bot/platforms imports neither SQLAlchemy nor store/ nor the runtime (worker) modules;
- bot/handlers imports no SQLAlchemy;
- no module outside store/ imports SQLAlchemy (SQL is built in store/ only; the wiring in
  bot/app.py, which creates the engine, is the one exception);
- no import circle among the project's modules (imports under ``if TYPE_CHECKING:`` excepted;
  a package's ``__init__`` assembling its own submodules is not a circle);
- a test module never imports another test module: shared helpers live in tests/fakes/ and
  fixtures in a conftest.py.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
Modules = dict[str, Path]


def scan(root: Path, packages: tuple[str, ...] = ("bot", "store")) -> Modules:
    found: Modules = {}
    for package in packages:
        for path in (root / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(nodes: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement, nested ones too (late imports count), but not under TYPE_CHECKING."""
    for node in nodes:
        if isinstance(node, ast.If) and _type_checking(node):
            yield from _statements(node.orelse)
            continue
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                yield from _statements([child])
            elif isinstance(child, ast.ExceptHandler):
                yield from _statements(child.body)


def imports(modules: Modules, name: str) -> set[str]:
    """The modules ``name`` imports at run time (``from a import b`` gives ``a.b`` when that is
    one of ours, else ``a``)."""
    path = modules[name]
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _statements(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, node.module] if node.module else base)
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                found.add(full if full in modules else module)
    return found


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def offences(modules: Modules, prefix: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list[str]:
    return sorted(
        f"{name} imports {target}"
        for name in modules
        if under(name, prefix) and name not in allowed
        for target in imports(modules, name)
        if any(under(target, f) for f in forbidden)
    )


def non_stdlib(modules: Modules, prefix: str) -> list[str]:
    return sorted(
        f"{name} imports {target}"
        for name in modules
        if under(name, prefix)
        for target in imports(modules, name)
        if target.split(".")[0] not in sys.stdlib_module_names and not under(target, prefix)
    )


def circles(modules: Modules) -> list[list[str]]:
    graph = {}
    for name, path in modules.items():
        targets = {t for t in imports(modules, name) if t in modules and t != name}
        if path.name == "__init__.py":
            targets = {t for t in targets if not under(t, name)}
        graph[name] = targets
    found: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                found.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name)
    return found


def imports_of_test_modules(modules: Modules) -> list[str]:
    """Modules under tests/ that import a module of tests/ other than tests/fakes/ or a conftest."""
    return sorted(
        f"{name} imports {target}"
        for name in modules
        if under(name, "tests")
        for target in imports(modules, name)
        if under(target, "tests")
        and target in modules
        and not under(target, "tests.fakes")
        and target.rpartition(".")[2] != "conftest"
        and modules[target].name != "__init__.py"
    )


MODULES = scan(ROOT)


def test_domain_imports_only_the_standard_library() -> None:
    assert non_stdlib(MODULES, "bot.domain") == []


def test_platforms_reach_no_database_and_no_worker() -> None:
    assert offences(MODULES, "bot.platforms", ("sqlalchemy", "store", "bot.runtime", "bot.handlers.deps")) == []


def test_handlers_import_no_sqlalchemy() -> None:
    assert offences(MODULES, "bot.handlers", ("sqlalchemy",)) == []


def test_sql_is_built_only_in_store() -> None:
    assert offences(MODULES, "bot", ("sqlalchemy",), allowed=("bot.app",)) == []


def test_no_import_circle() -> None:
    assert circles(MODULES) == []


def test_test_modules_import_only_fakes_and_conftest() -> None:
    assert imports_of_test_modules(scan(ROOT, ("tests",))) == []


def test_the_scanner_finds_what_it_must(tmp_path: Path) -> None:
    # a throwaway tree that breaks every rule once
    files = {
        "bot/__init__.py": "",
        "bot/domain/__init__.py": "",
        "bot/domain/rules.py": "import json\nimport aiohttp\n",
        "bot/platforms/__init__.py": "",
        "bot/platforms/edge.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import store.ok\n"
        "def f():\n    from store import repo\n",
        "bot/handlers/__init__.py": "",
        "bot/handlers/a.py": "from . import b\nfrom sqlalchemy import select\n",
        "bot/handlers/b.py": "from bot.handlers import a\n",
        "store/__init__.py": "",
        "store/repo.py": "",
        "store/ok.py": "",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    fake = scan(tmp_path)
    assert non_stdlib(fake, "bot.domain") == ["bot.domain.rules imports aiohttp"]
    assert offences(fake, "bot.platforms", ("store",)) == ["bot.platforms.edge imports store.repo"]
    assert offences(fake, "bot.handlers", ("sqlalchemy",)) == ["bot.handlers.a imports sqlalchemy"]
    assert circles(fake) == [["bot.handlers.a", "bot.handlers.b", "bot.handlers.a"]]


def test_the_scanner_finds_a_test_module_imported(tmp_path: Path) -> None:
    files = {
        "tests/__init__.py": "",
        "tests/conftest.py": "",
        "tests/fakes/__init__.py": "",
        "tests/fakes/office.py": "from tests.conftest import make_config\n",
        "tests/web/__init__.py": "",
        "tests/web/conftest.py": "from tests.fakes.office import Office\n",
        "tests/web/test_api.py": "from tests.conftest import make_config\nfrom tests.fakes import office\n",
        "tests/web/test_limits.py": "from tests.web.test_api import AUTH\n",
        "tests/web/test_input.py": "def f():\n    from . import test_api\n",
    }
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text, encoding="utf-8")
    assert imports_of_test_modules(scan(tmp_path, ("tests",))) == [
        "tests.web.test_input imports tests.web.test_api",
        "tests.web.test_limits imports tests.web.test_api",
    ]
