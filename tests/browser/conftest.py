"""Fixtures for tests that drive a real, headless Chromium against the app.

`live_server` serves the `app` fixture (from tests/conftest.py) over real HTTP on a free port;
`browser` launches the system Chromium once per session. Without a usable browser the tests are
skipped on a workstation, but fail when the CI environment variable is set: in CI they must run.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"browser tests must run in CI: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def live_server(app) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The app served on 127.0.0.1 in a background thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def browser() -> Iterator:
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as exc:  # pragma: no cover - depends on the environment
        _unavailable(f"playwright is not installed: {exc}")
    if not (os.path.exists(CHROMIUM) and shutil.which(CHROMIUM)):
        _unavailable(f"no Chromium at {CHROMIUM}")
    with sync_playwright() as p:
        try:
            chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS,
                                         headless=True)
        except Error as exc:
            _unavailable(f"Chromium at {CHROMIUM} did not start: {exc}")
        try:
            yield chromium
        finally:
            chromium.close()
