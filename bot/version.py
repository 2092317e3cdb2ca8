"""The version of the code that is running (``liuyan --version``)."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as installed_version
from pathlib import Path

UNKNOWN = "未知（unknown）"


def version() -> str:
    """A source checkout's ``pyproject.toml`` when the package runs from one (whatever else is
    installed), else the installed distribution's metadata."""
    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    try:
        project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        project = {}
    if isinstance(project, dict) and project.get("name") == "liuyan" and isinstance(project.get("version"), str):
        return str(project["version"])
    try:
        return installed_version("liuyan")
    except PackageNotFoundError:
        return UNKNOWN
