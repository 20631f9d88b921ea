"""Architecture and operating-model alignment assessment service.

`create_app` imports the web stack only when called, so that the pure parts of the package
(`assessment.banks`, `assessment.analysis`) can be imported without Flask or SQLAlchemy.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    from .factory import create_app as _create_app

    return _create_app(test_config)
