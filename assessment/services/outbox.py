"""The outbox: with no MAIL_SERVER set, emails are written here as .eml files instead of being
sent, readable by the service's user only (they hold working links), and listed newest first
on the admin's Outbox page."""

from __future__ import annotations

import os
import re
import time
import uuid
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

from .errors import NotFound

NAME = re.compile(r"^\d{14}-\d{6}-[0-9a-f]{32}\.eml$")


def write(folder: Path, message: EmailMessage) -> Path:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    now = time.time()
    stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(now)) + f"-{int(now % 1 * 1e6):06d}"
    path = folder / f"{stamp}-{uuid.uuid4().hex}.eml"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(message.as_bytes(policy=policy.SMTP))
    return path


@dataclass(frozen=True)
class Entry:
    name: str
    to: str
    subject: str
    date: str


def names(folder: Path) -> list[str]:
    """The messages' file names, newest first (the names start with the time)."""
    if not folder.is_dir():
        return []
    return sorted((p.name for p in folder.iterdir() if NAME.match(p.name)), reverse=True)


def read(folder: Path, name: str) -> EmailMessage:
    if not NAME.match(name) or not (folder / name).is_file():
        raise NotFound("There is no such message in the outbox.")
    with (folder / name).open("rb") as handle:
        message = BytesParser(policy=policy.default).parse(handle)
    assert isinstance(message, EmailMessage)
    return message


def page(folder: Path, number: int, size: int) -> tuple[list[Entry], int, int]:
    """One page of the outbox, newest first: (entries, page number, pages)."""
    found = names(folder)
    pages = max(1, -(-len(found) // size))
    number = min(max(number, 1), pages)
    entries = []
    for name in found[(number - 1) * size:number * size]:
        message = read(folder, name)
        entries.append(Entry(name, str(message["To"] or ""), str(message["Subject"] or ""),
                             str(message["Date"] or "")))
    return entries, number, pages
