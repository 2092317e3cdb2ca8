"""`liuyan serve`: the long-running server."""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import click

from bot.cli.base import all_problems, config_option, refuse
from bot.runtime.log_setup import setup_logging


@click.command()
@config_option
def serve(config_path: Path) -> None:
    """Run the server: HTTP callbacks, the intake API and the scheduler."""
    from bot.app import ListenError
    from bot.app import serve as serve_app
    from bot.config_check import ConfigProblems

    # every problem at once, one line each, before the database or the port is touched
    config, lines = all_problems(config_path)
    if lines or config is None:
        refuse(f"{config_path}: {line}" for line in lines)
    setup_logging(config.logging.level)

    try:
        run_bounded(serve_app(config))
    except ConfigProblems as exc:
        refuse(f"{config_path}: {line}" for line in exc.lines)
    except ListenError as exc:
        raise click.ClickException(
            f"无法监听 {exc.host}:{exc.port}：{exc.detail}（端口被占用或无权限；cannot listen on {exc.host}:{exc.port}）"
        ) from exc


def run_bounded(main: Coroutine[Any, Any, None], *, linger: float = 0.5) -> None:
    """``asyncio.run`` without its unbounded wait at the end: ``serve`` has already stopped and
    awaited its own tasks; a straggler (a task waiting on a database driver thread that sits in
    SQLite's busy wait, up to its 30 s timeout) gets ``linger`` seconds. If one is still alive,
    the process leaves at once: every event and message is committed, nothing is lost by not
    waiting, and a platform that gets no answer retries."""
    # Only threads serve started count: a host process's own threads (a test runner's timer, say)
    # are not serve's to wait for.
    before = set(threading.enumerate())
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(main)
    finally:
        left = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for task in left:
            task.cancel()
        if left:
            loop.run_until_complete(asyncio.wait(left, timeout=linger))
        stuck = any(not t.done() for t in left) or any(
            t.is_alive() and not t.daemon for t in threading.enumerate() if t not in before
        )
        if stuck:
            logging.getLogger(__name__).warning("shutdown: leaving without waiting for stuck database work")
            logging.shutdown()
            os._exit(0)
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
