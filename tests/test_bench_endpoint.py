"""The load-test baseline endpoint exists only when BENCHMARK_ENDPOINTS=1 is set."""

from __future__ import annotations

from pathlib import Path

import pytest

from assessment import create_app
from assessment.models import RateLimit

from .conftest import _config, count


def _rules(app) -> set[str]:  # type: ignore[no-untyped-def]
    return {rule.rule for rule in app.url_map.iter_rules()}


def test_no_bench_route_without_the_variable(app, client, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("BENCHMARK_ENDPOINTS", raising=False)
    assert not any(rule.startswith("/_bench") for rule in _rules(app))
    before = count(app, RateLimit)
    assert client.post("/_bench/insert").status_code == 404
    assert count(app, RateLimit) == before


@pytest.mark.parametrize("value", ["0", "", "true"])
def test_only_exactly_1_enables_it(database_url: str, tmp_path: Path, monkeypatch,  # type: ignore[no-untyped-def]
                                   value: str) -> None:
    monkeypatch.setenv("BENCHMARK_ENDPOINTS", value)
    app = create_app(_config(database_url, tmp_path))
    try:
        assert "/_bench/insert" not in _rules(app)
    finally:
        app.extensions["db_engine"].dispose()


def test_bench_insert_with_the_variable(database_url: str, tmp_path: Path,  # type: ignore[no-untyped-def]
                                        monkeypatch) -> None:
    monkeypatch.setenv("BENCHMARK_ENDPOINTS", "1")
    app = create_app(_config(database_url, tmp_path))
    try:
        before = count(app, RateLimit)
        client = app.test_client()
        # CSRF-exempt: the load generator posts without a form.
        assert client.post("/_bench/insert").status_code == 200
        assert client.post("/_bench/insert").status_code == 200
        assert count(app, RateLimit) == before + 2
        assert client.get("/_bench/insert").status_code == 405
    finally:
        app.extensions["db_engine"].dispose()
