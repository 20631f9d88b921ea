"""Registering question-bank files in the database and turning stored versions back into banks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..banks import Bank, BankError, content_hash, parse_bank, read_bank_file
from ..db import begin_write
from ..models import Assessment, BankVersion


@dataclass
class RegisterResult:
    added: list[str]
    updated: list[str]
    unchanged: list[str]
    problems: list[str]


def register_bank_dir(session: Session, directory: str | Path) -> RegisterResult:
    """Register every `*.yaml` bank in a directory; idempotent. Problems are collected, not raised,
    so one broken file does not keep the others out."""
    result = RegisterResult([], [], [], [])
    begin_write(session)
    for path in sorted(Path(directory).glob("*.y*ml")):
        try:
            bank, definition = read_bank_file(path)
        except BankError as exc:
            result.problems.extend(exc.lines())
            continue
        outcome = register_bank(session, bank, definition, str(path))
        if outcome.startswith("refused"):
            result.problems.append(f"{path}: {outcome.removeprefix('refused: ')}")
        else:
            getattr(result, outcome).append(f"{bank.id} v{bank.version}")
    session.commit()
    return result


def register_bank(session: Session, bank: Bank, definition: dict[str, Any], source: str) -> str:
    digest = content_hash(definition)
    row = session.scalar(
        sa.select(BankVersion).where(
            BankVersion.bank_id == bank.id, BankVersion.version == bank.version
        )
    )
    if row is None:
        session.add(BankVersion(bank_id=bank.id, version=bank.version, title=bank.title,
                                content_hash=digest, definition=definition, source=source))
        session.flush()
        return "added"
    if row.content_hash == digest:
        return "unchanged"
    in_use = session.scalar(
        sa.select(sa.func.count()).select_from(Assessment).where(
            Assessment.bank_version_id == row.id
        )
    )
    if in_use:
        return (
            f"refused: bank '{bank.id}' version {bank.version} has changed, but {in_use} "
            f"assessment(s) already use that version; give the changed bank a new version number"
        )
    row.title, row.content_hash, row.definition, row.source = (
        bank.title, digest, definition, source)
    return "updated"


_parsed: dict[tuple[int, str], Bank] = {}


def bank_of(version: BankVersion) -> Bank:
    """The parsed bank of a stored version, cached by id and content hash (a version in use never
    changes, and a changed unused one gets a new hash)."""
    key = (version.id, version.content_hash)
    if key not in _parsed:
        _parsed[key] = _parse_stored(version.id, version.definition)
    return _parsed[key]


def bank_by_id(session: Session, version_id: int, content_hash: str) -> Bank:
    """`bank_of` for a caller that read the version's id and hash only (the survey's one-row
    read): the definition is read from the database when this process has not parsed it yet."""
    key = (version_id, content_hash)
    if key not in _parsed:
        definition = session.connection().scalar(
            sa.select(BankVersion.definition).where(BankVersion.id == version_id))
        if definition is None:
            raise LookupError(f"no bank version {version_id}")
        _parsed[key] = _parse_stored(version_id, definition)
    return _parsed[key]


def _parse_stored(version_id: int, definition: dict[str, Any]) -> Bank:
    # Stored banks passed the rules of their day: placeholder rules added since must not make
    # their assessments' pages fail (bad placeholders are shown as written).
    return parse_bank(definition, f"bank #{version_id}", check_texts=False)


def latest_banks(session: Session) -> list[BankVersion]:
    """The newest version of each bank, for choosing one when creating an assessment."""
    newest = (
        sa.select(BankVersion.bank_id, sa.func.max(BankVersion.version).label("v"))
        .group_by(BankVersion.bank_id)
        .subquery()
    )
    return list(
        session.scalars(
            sa.select(BankVersion)
            .join(newest, sa.and_(BankVersion.bank_id == newest.c.bank_id,
                                  BankVersion.version == newest.c.v))
            .order_by(BankVersion.bank_id)
        )
    )


def find_bank(session: Session, bank_id: str, version: int | None = None) -> BankVersion | None:
    stmt = sa.select(BankVersion).where(BankVersion.bank_id == bank_id)
    if version is not None:
        stmt = stmt.where(BankVersion.version == version)
    return session.scalar(stmt.order_by(BankVersion.version.desc()).limit(1))
