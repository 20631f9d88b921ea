"""Command-line interface: `flask --app app <command>`.

This module only names the commands. Each lives in a module that is imported when it runs (or
when help lists it): a command's start-up then costs what that command needs and no more, so a
listing that reads one table does not wait for the ORM, the bank loader, the report builders or
the task queue to import.
"""

from __future__ import annotations

import importlib
import sys
from typing import NoReturn

import click
from flask import Flask
from flask.cli import AppGroup

ADMIN = "assessment.cli_admin"

# name: (module, attribute) of a command or a group of commands.
COMMANDS = {
    "init-db": (ADMIN, "init_db_command"),
    "create-user": (ADMIN, "create_user_command"),
    "set-password": (ADMIN, "set_password_command"),
    "invite": (ADMIN, "invite_command"),
    "demo": (ADMIN, "demo_command"),
    "bank": (ADMIN, "bank_cli"),
    "db": (ADMIN, "db_cli"),
    "analyze": ("assessment.cli_analyze", "analyze_command"),
    "api-token": ("assessment.cli_api", "api_token_cli"),
    "report": ("assessment.cli_report", "report_command"),
    "worker": ("assessment.queue", "worker_command"),
    "jobs": ("assessment.queue", "jobs_cli"),
    "roster": ("assessment.cli_email", "roster_cli"),
    "email": ("assessment.cli_email", "email_cli"),
    "keys": ("assessment.cli_email", "keys_cli"),
}

ASSESSMENT_COMMANDS = {
    "list": ("assessment.cli_list", "assessment_list"),
    "create": (ADMIN, "assessment_create"),
    "open": (ADMIN, "assessment_open"),
    "close": (ADMIN, "assessment_close"),
    "release": (ADMIN, "assessment_release"),
    "status": (ADMIN, "assessment_status"),
    "share": (ADMIN, "assessment_share"),
}


def fail(message: str, problems: list[str] | None = None) -> NoReturn:
    """A user error: one line (and the problems, if any) on standard error, exit status 1."""
    click.echo(f"Error: {message}", err=True)
    for problem in problems or []:
        click.echo(f"  {problem}", err=True)
    sys.exit(1)


class LazyAppGroup(AppGroup):
    """A command group whose commands are named here and imported on first use."""

    def __init__(self, name: str | None, lazy: dict[str, tuple[str, str]],
                 help: str | None = None) -> None:  # noqa: A002 - click's own name
        super().__init__(name, help=help)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.lazy and cmd_name not in self.commands:
            module, attr = self.lazy[cmd_name]
            self.add_command(getattr(importlib.import_module(module), attr), cmd_name)
        return super().get_command(ctx, cmd_name)


def init_app(app: Flask) -> None:
    group = LazyAppGroup(app.cli.name, COMMANDS)
    for name, command in app.cli.commands.items():  # any registered before this
        group.add_command(command, name)
    group.add_command(LazyAppGroup(
        "assessment", ASSESSMENT_COMMANDS,
        help="Create, open, close and inspect assessments."))
    app.cli = group
