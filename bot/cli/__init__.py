"""The `liuyan` command line (also `python -m bot`): the root group with every command group.

Each group lives in its own module; this one only assembles them.
"""

from __future__ import annotations

from bot.cli import (
    accounts,
    calendar,
    cases,
    db,
    demo,
    directory,
    imports_exports,
    nudges,
    reports,
    serve,
    setup,
    token,
    wecom,
)
from bot.cli.base import main

main.add_command(serve.serve)
main.add_command(db.db)
db.db.add_command(setup.db_seed)
main.add_command(setup.config_group)
main.add_command(cases.case)
cases.case.add_command(imports_exports.case_import)
main.add_command(directory.unit)
main.add_command(directory.person)
main.add_command(calendar.calendar)
main.add_command(nudges.nudges)
main.add_command(wecom.wecom)
main.add_command(token.token)
main.add_command(demo.demo)
main.add_command(imports_exports.export)
main.add_command(reports.report)
main.add_command(reports.archive)
main.add_command(accounts.account)

__all__ = ["main"]
