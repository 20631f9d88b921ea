"""Settings are parsed strictly: documented spellings only, and a bad value stops the start with
one line naming the variable, under `flask` and under gunicorn alike."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from assessment.config import ConfigurationError, from_environment

BIN = Path(sys.executable).parent


def settings(**env: str) -> dict:
    return from_environment("/tmp/instance", env)


@pytest.mark.parametrize("spelling", ["1", "true", "TRUE", "True", "yes", "Yes", "on", "ON",
                                      " true "])
def test_true_spellings(spelling: str) -> None:
    assert settings(SESSION_COOKIE_SECURE=spelling)["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("spelling", ["0", "false", "False", "no", "NO", "off", "Off"])
def test_false_spellings(spelling: str) -> None:
    assert settings(SESSION_COOKIE_SECURE=spelling)["SESSION_COOKIE_SECURE"] is False


def test_unset_and_empty_take_the_defaults() -> None:
    for config in (settings(), settings(SESSION_COOKIE_SECURE="", SESSION_IDLE_MINUTES=" ")):
        assert config["SESSION_COOKIE_SECURE"] is False
        assert config["SESSION_IDLE_MINUTES"] == 30
        assert config["PERMANENT_SESSION_LIFETIME"] == 30 * 60
        assert config["SESSION_ABSOLUTE_HOURS"] == 12
        assert config["TRUSTED_PROXIES"] == 0
        assert config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
        assert config["BASE_URL"] == "http://127.0.0.1:5000"
        assert config["SECRET_KEY"] is None


def test_good_values_are_read() -> None:
    config = settings(SESSION_IDLE_MINUTES="45", SESSION_ABSOLUTE_HOURS="8", TRUSTED_PROXIES="2",
                      MAX_CONTENT_LENGTH="1048576", BASE_URL="https://assess.example.org/",
                      SECRET_KEY="s3cret")
    assert config["SESSION_IDLE_MINUTES"] == 45
    assert config["PERMANENT_SESSION_LIFETIME"] == 45 * 60
    assert config["SESSION_ABSOLUTE_HOURS"] == 8
    assert config["TRUSTED_PROXIES"] == 2
    assert config["MAX_CONTENT_LENGTH"] == 1048576
    assert config["BASE_URL"] == "https://assess.example.org"
    assert config["SECRET_KEY"] == "s3cret"


@pytest.mark.parametrize(("name", "value"), [
    ("SESSION_COOKIE_SECURE", "maybe"), ("SESSION_COOKIE_SECURE", "2"),
    ("SESSION_COOKIE_SECURE", "y"), ("SESSION_IDLE_MINUTES", "thirty"),
    ("SESSION_IDLE_MINUTES", "0"), ("SESSION_IDLE_MINUTES", "1.5"),
    ("SESSION_ABSOLUTE_HOURS", "-1"), ("SESSION_ABSOLUTE_HOURS", "twelve"),
    ("TRUSTED_PROXIES", "-1"), ("TRUSTED_PROXIES", "one"),
    ("MAX_CONTENT_LENGTH", "2M"), ("MAX_CONTENT_LENGTH", "0"),
    ("BASE_URL", "assess.example.org"), ("BASE_URL", "ftp://x"), ("BASE_URL", "https://"),
])
def test_a_bad_value_is_one_line_naming_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        settings(**{name: value})
    message = str(caught.value)
    assert message.startswith(f"{name}=")
    assert value in message
    assert "\n" not in message


def test_a_bad_value_refuses_create_app(monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from assessment import create_app

    monkeypatch.setenv("SESSION_IDLE_MINUTES", "thirty")
    with pytest.raises(ConfigurationError, match="^SESSION_IDLE_MINUTES="):
        create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp_path / 'a.db'}"})


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SESSION_", "FLASK_"))}
    env.update(SECRET_KEY="test-secret", INSTANCE_PATH=str(tmp_path / "instance"),
               DATABASE_URL=f"sqlite:///{tmp_path / 'a.db'}", **extra)
    return env


def test_flask_command_prints_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "flask"), "--app", "assessment:create_app", "bank", "list"],
        cwd=tmp_path, env=_environment(tmp_path, SESSION_COOKIE_SECURE="maybe"),
        capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if "SESSION_COOKIE_SECURE" in line]
    assert errors == ["Error: SESSION_COOKIE_SECURE='maybe' is not valid: expected one of "
                      "1/0, true/false, yes/no, on/off."]


def test_gunicorn_prints_one_line_and_stops(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "gunicorn"), "--bind", "127.0.0.1:0", "--workers", "1",
         "assessment:create_app()"],
        cwd=tmp_path, env=_environment(tmp_path, SESSION_IDLE_MINUTES="thirty"),
        capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr + result.stdout
    errors = [line for line in result.stderr.splitlines() if "SESSION_IDLE_MINUTES" in line]
    assert errors == ["SESSION_IDLE_MINUTES='thirty' is not valid: expected a whole number."]
    assert "App failed to load" in result.stderr
