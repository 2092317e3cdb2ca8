"""`liuyan token generate`: a fresh API token for ``[api] token``."""

from __future__ import annotations

import click

from bot.api_token import new_token


@click.group()
def token() -> None:
    """The intake API's bearer token."""


@token.command()
def generate() -> None:
    """Print a fresh random token (43 characters) to put in config.toml's [api] token."""
    click.echo(new_token())
