"""Orchestration between the web/CLI layers and persistence, banks and analysis.

Views and commands call these functions; they validate, raise `ServiceError`s with messages a
user can act on, and commit.
"""
