"""``liuyan --version`` from a source checkout and from an install (issue 14): the version of the code
that runs — a checkout's pyproject.toml wins over whatever is installed in the environment."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def copy_package(target: Path) -> None:
    shutil.copytree(ROOT / "bot", target / "bot", ignore=shutil.ignore_patterns("__pycache__"))


def run(cwd: Path, *code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *code], cwd=cwd, capture_output=True, text=True, timeout=120, env={"PATH": "/usr/bin:/bin"}
    )


def test_version_of_a_source_checkout(tmp_path: Path) -> None:
    checkout = tmp_path / "liuyan"
    copy_package(checkout)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (checkout / "pyproject.toml").write_text(pyproject.replace('version = "', 'version = "7.7.', 1), encoding="utf-8")
    done = run(checkout, "-m", "bot", "--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("liuyan 7.7."), done.stdout


def test_version_of_an_install(tmp_path: Path) -> None:
    site = tmp_path / "site"
    copy_package(site)  # no pyproject.toml next to an installed package
    meta = site / "liuyan-9.9.9.dist-info"
    meta.mkdir()
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: liuyan\nVersion: 9.9.9\n", encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    done = run(
        elsewhere, "-c", f"import sys; sys.path.insert(0, {str(site)!r}); from bot.cli import main; main()", "--version"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "liuyan 9.9.9", done.stdout + done.stderr


def test_version_when_nothing_says(tmp_path: Path) -> None:
    site = tmp_path / "site"
    copy_package(site)
    done = run(
        tmp_path,
        "-c",
        f"import sys, importlib.metadata as m\nsys.path.insert(0, {str(site)!r})\n"
        "import bot.version as v\n"
        "def missing(name):\n    raise m.PackageNotFoundError(name)\n"
        "v.installed_version = missing\nprint(v.version())",
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "未知（unknown）"
