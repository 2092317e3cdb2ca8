"""The docs cannot drift from the code: every command and option of the CLI is in README.md,
every API field too, and every key of the configuration model is in config.example.toml (issue 14)."""

from __future__ import annotations

import tomllib
import typing
from pathlib import Path
from typing import Any

import click
from pydantic import BaseModel

from bot.cli import main
from bot.config import Config
from bot.handlers.intake import FIELDS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: options every command has, described once in the README
COMMON = {"--config", "--help"}


def leaf_commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, click.Command]]:
    found = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found += leaf_commands(command, (*path, name))
        else:
            found.append((" ".join(("liuyan", *path, name)), command))
    return found


def test_every_command_and_option_is_in_the_readme() -> None:
    lines = README.splitlines()
    missing = []
    for path, command in leaf_commands(main):
        mentioned = [line for line in lines if path in line]
        if not mentioned:
            missing.append(path)
            continue
        for param in command.params:
            if not isinstance(param, click.Option):
                continue
            longs = [o for o in param.opts if o.startswith("--")] or list(param.opts)
            if set(longs) & COMMON:
                continue
            if not any(o in line for o in longs for line in mentioned):
                missing.append(f"{path} {longs[0]}")
    assert not missing, f"README.md does not mention: {missing}"
    assert "LIUYAN_CONFIG" in README and "-c FILE" in README


def test_config_help_mentions_the_environment_variable() -> None:
    from click.testing import CliRunner

    out = CliRunner().invoke(main, ["case", "list", "--help"]).output
    assert "LIUYAN_CONFIG" in out


def test_every_api_field_is_in_the_readme() -> None:
    http = README[README.index("### HTTP") :]
    missing = [f for f in sorted(FIELDS) if f"`{f}`" not in http]
    assert not missing, f"README.md's HTTP section does not mention {missing}"


def _model(annotation: Any) -> type[BaseModel] | None:
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _missing_keys(model: type[BaseModel], example: Any, where: str) -> list[str]:
    missing = []
    entries = example if isinstance(example, list) else [example]
    for name, info in model.model_fields.items():
        if name == "base_dir":
            continue  # set by the loader, not a key
        key = f"{where}{name}"
        present = [e[name] for e in entries if isinstance(e, dict) and name in e]
        if not present:
            missing.append(key)
            continue
        sub = _model(info.annotation)
        if sub is not None and typing.get_origin(info.annotation) is not dict:
            missing += _missing_keys(sub, present[0], f"{key}.")
    return missing


def test_every_config_key_is_in_the_example() -> None:
    example = tomllib.loads((ROOT / "config.example.toml").read_text(encoding="utf-8"))
    missing = _missing_keys(Config, example, "")
    assert not missing, f"config.example.toml does not document {missing}"


def test_dingtalk_guide_has_no_placeholder() -> None:
    assert "配置项待加入" not in (ROOT / "docs" / "dingtalk-admin.md").read_text(encoding="utf-8")
