"""``deploy/airflow.sh``, the README's deployment, on what needs no running Airflow.

The deployment suite (``make e2e``) runs every command against a real deployment; here, what
the script does with a fresh folder and with input it must refuse before it calls anything.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "deploy" / "airflow.sh"


def run(*args: str, home: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "LEADSQUARED_", "LEADACT_"))}
    environment["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environment.get('PATH', '')}"
    if home is not None:
        environment["AIRFLOW_HOME"] = str(home)
    environment.update(env)
    return subprocess.run([str(SCRIPT), *args], env=environment, capture_output=True, text=True, timeout=300)


def test_without_a_home_it_says_what_to_set(tmp_path: Path) -> None:
    done = run("start")
    assert done.returncode != 0 and "set AIRFLOW_HOME" in done.stderr


def test_without_airflow_on_the_path_it_says_to_activate_it(tmp_path: Path) -> None:
    done = run("start", home=tmp_path, PATH="/usr/bin:/bin")
    assert done.returncode != 0 and "airflow is not on PATH" in done.stderr


def test_an_unknown_command_prints_the_usage(tmp_path: Path) -> None:
    done = run("deploy", home=tmp_path)
    assert done.returncode == 2 and "deploy/airflow.sh init DATABASE_URL" in done.stderr


@pytest.mark.parametrize("command", ["start", "password", "unpause x", "backfill d 2025-01-01 2025-01-02"])
def test_before_init_each_command_asks_for_it(tmp_path: Path, command: str) -> None:
    done = run(*command.split(), home=tmp_path)
    assert done.returncode != 0 and "run `deploy/airflow.sh init DATABASE_URL` first" in done.stderr
    assert not (tmp_path / "run").exists()  # nothing started


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("LEADSQUARED_HOST", "set LEADSQUARED_HOST"),
        ("LEADSQUARED_ACCESS_KEY", "set LEADSQUARED_ACCESS_KEY"),
        ("LEADSQUARED_SECRET_KEY", "set LEADSQUARED_SECRET_KEY"),
    ],
)
def test_a_connection_without_its_keys_is_refused_naming_the_variable(
    tmp_path: Path, missing: str, message: str
) -> None:
    given = {
        "LEADSQUARED_HOST": "api-in21.leadsquared.com",
        "LEADSQUARED_ACCESS_KEY": "u$r-access-key-123",
        "LEADSQUARED_SECRET_KEY": "u$r-secret-key-456",
    }
    del given[missing]
    done = run("leadsquared-connection", "leadsquared_default", home=tmp_path, **given)
    assert done.returncode != 0 and message in done.stderr
    for key in ("u$r-access-key-123", "u$r-secret-key-456"):
        assert key not in done.stdout + done.stderr


def test_celery_without_a_broker_writes_nothing(tmp_path: Path) -> None:
    done = run("init", f"sqlite:///{tmp_path}/airflow.db", home=tmp_path, EXECUTOR="CeleryExecutor")
    assert done.returncode != 0 and "AIRFLOW__CELERY__BROKER_URL" in done.stderr
    assert not (tmp_path / "airflow.env").exists()


def test_init_writes_private_settings_with_fresh_secrets_and_the_example_dags(tmp_path: Path) -> None:
    homes = [tmp_path / "one", tmp_path / "two"]
    for home in homes:
        done = run(
            "init",
            f"sqlite:///{home}/airflow.db",
            home=home,
            LEADACT_BASE_PATH=f"file://{home}/data",
            AIRFLOW__CORE__PARALLELISM="8",
        )
        assert done.returncode == 0, done.stderr
    settings = [dict(_assignments((home / "airflow.env").read_text())) for home in homes]
    for home, values in zip(homes, settings, strict=True):
        assert stat.S_IMODE((home / "airflow.env").stat().st_mode) == 0o600
        assert values["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
        assert values["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:8080/execution/"
        assert values["LEADACT_BASE_PATH"] == f"file://{home}/data" and values["AIRFLOW__CORE__PARALLELISM"] == "8"
        examples = REPO / "airflow_provider_leadact" / "example_dags"
        assert {p.name for p in (home / "dags").glob("*.py")} == {
            p.name for p in examples.glob("leadsquared_activities_*.py")
        }
        assert (home / "airflow.db").stat().st_size > 0  # migrated
    for secret in ("AIRFLOW__CORE__FERNET_KEY", "AIRFLOW__API_AUTH__JWT_SECRET", "AIRFLOW__API__SECRET_KEY"):
        assert settings[0][secret] and settings[0][secret] != settings[1][secret], secret
    # A second init would replace the key that decrypts what the database holds: refused.
    again = run("init", f"sqlite:///{homes[0]}/airflow.db", home=homes[0])
    assert again.returncode != 0 and "exists" in again.stderr
    assert dict(_assignments((homes[0] / "airflow.env").read_text())) == settings[0]


def _assignments(text: str) -> list[tuple[str, str]]:
    """The ``NAME=value`` lines of an env file, read as bash reads them."""
    lines = [line for line in text.splitlines() if line and not line.startswith("#")]
    shown = subprocess.run(
        [
            "bash",
            "-c",
            'set -a; eval "$0"; for n in $(compgen -e); do printf "%s=%s\\0" "$n" "${!n}"; done',
            "\n".join(lines),
        ],
        env={},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    names = {line.split("=", 1)[0] for line in lines}
    return [tuple(item.split("=", 1)) for item in shown.split("\0") if item and item.split("=", 1)[0] in names]  # type: ignore[misc]
