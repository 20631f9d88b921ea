"""Structured security log lines (JSON after the logger name): authentication failures, refusals
and errors. Never pass tokens, passwords or answers here: only ids, addresses and outcomes."""

from __future__ import annotations

import json
import logging

from flask import request

log = logging.getLogger("assessment.audit")


def event(name: str, **fields: object) -> None:
    record = {"event": name, "ip": request.remote_addr, "method": request.method,
              "endpoint": request.endpoint, **fields}
    log.warning(json.dumps(record, default=str, sort_keys=True))
