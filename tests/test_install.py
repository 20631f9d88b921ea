"""A built wheel, installed outside the checkout, carries the templates, the banks, the static
files and the migrations: `flask` commands run and gunicorn serves pages from it.

The fresh virtual environment borrows the dependencies of the running one through a `.pth` file
(which adds that site-packages to the path without running its own `.pth` files, so the editable
install of the checkout stays out), and the wheel goes in with `--no-deps`: no download, well
under a minute.
"""

from __future__ import annotations

import os
import site
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from assessment.config import PROJECT_ROOT

pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The python of a fresh venv holding only the wheel built from the checkout."""
    work = tmp_path_factory.mktemp("install")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps",
                    "--wheel-dir", str(work / "dist"), str(PROJECT_ROOT)],
                   check=True, capture_output=True, timeout=120)
    wheel = next((work / "dist").glob("assessment-*.whl"))
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(work / "venv")],
                   check=True, timeout=60)
    python = work / "venv" / "bin" / "python"
    target = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path("
                             "'purelib'))"], check=True, capture_output=True, text=True)
    (Path(target.stdout.strip()) / "borrowed.pth").write_text(
        "\n".join(site.getsitepackages()) + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet",
                    "--no-deps", str(wheel)], check=True, capture_output=True, timeout=120)
    return python


def _env(home: Path) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(SECRET_KEY="install-test-secret", PYTHONDONTWRITEBYTECODE="1")
    return env


def test_wheel_installed_elsewhere_runs_commands_and_serves(installed: Path,
                                                            tmp_path: Path) -> None:
    env, cwd = _env(tmp_path), tmp_path
    where = subprocess.run([str(installed), "-c", "import assessment; print(assessment.__file__)"],
                           cwd=cwd, env=env, check=True, capture_output=True, text=True)
    assert where.stdout.startswith(str(installed.parent.parent)), where.stdout
    assert str(PROJECT_ROOT) not in where.stdout

    flask = [str(installed), "-m", "flask", "--app", "assessment:create_app"]
    init = subprocess.run([*flask, "init-db"], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120)
    assert init.returncode == 0, init.stderr
    banks = subprocess.run([*flask, "bank", "list"], cwd=cwd, env=env, capture_output=True,
                           text=True, timeout=60)
    assert banks.returncode == 0, banks.stderr
    assert "alignment" in banks.stdout and "replatform-readiness" in banks.stdout
    # State goes beside the venv, not into site-packages or the working directory.
    assert (installed.parent.parent / "var" / "assessment-instance" / "assessment.db").is_file()

    port = _free_port()
    server = subprocess.Popen(
        [str(installed), "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
         "assessment:create_app()"], cwd=cwd, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                status, body = _get(f"{base}/readyz")
                break
            except OSError:
                assert server.poll() is None, server.stdout.read() if server.stdout else ""
                assert time.monotonic() < deadline, "gunicorn did not answer in 30 s"
                time.sleep(0.2)
        assert status == 200, body  # the migrations were found and applied
        status, page = _get(f"{base}/login")
        assert status == 200 and 'name="password"' in page  # templates from the wheel
        status, css = _get(f"{base}/static/style.css")
        assert status == 200 and css.strip()
    finally:
        server.terminate()
        server.wait(timeout=30)
