"""liuyan demo: load a small realistic office for rehearsing in the sandbox (bot/handlers/demo.py)."""

from __future__ import annotations

from pathlib import Path

import click

from bot.cli.base import config_option, friendly, load, run_with_runtime


@click.command("demo")
@config_option
@friendly
def demo(config_path: Path) -> None:
    """Load a demo office: 4 units, people of every role, a dozen cases in every state (again: no change)."""
    from bot.handlers.demo import load_demo

    config = load(config_path)
    if not config.sandbox.enabled:
        click.echo("提示：[sandbox] 未启用，示例人员没有企业微信/钉钉账号，只能在模拟工作台中看到消息。", err=True)
    result = run_with_runtime(config, lambda runtime: load_demo(runtime.deps))
    click.echo(result.summary())
