"""The sdist and the wheel, built as a release builds them and checked as PyPI would check them.

The sdist is built from a copy of the working tree (as a fresh clone would have it), then the
wheel from the unpacked sdist alone, which proves the sdist is complete. The sdist ships no
tests (see MANIFEST.in): they need the whole repository and run from a clone.
"""

from __future__ import annotations

import email.parser
import re
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.message import Message
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from trove_classifiers import classifiers as KNOWN_CLASSIFIERS

from airflow_provider_leadact import __version__

REPO = Path(__file__).resolve().parents[2]
PACKAGE = "airflow_provider_leadact"
STEM = f"{PACKAGE}-{__version__}"
BIN = Path(sys.executable).parent

#: What a fresh clone does not have: virtualenvs, caches, build output, local run folders.
NOT_IN_A_CLONE = shutil.ignore_patterns(
    ".git",
    ".venv*",
    "build",
    "dist",
    "*.egg-info",
    "__pycache__",
    ".*_cache",
    ".hypothesis",
    ".demo",
    ".airflow",
    ".bench",
)


def build(*args: str) -> None:
    # --no-isolation: the build backend (setuptools>=77) is in the test dependency group, so the
    # build downloads nothing; a release's plain `python -m build` gets the same from PyPI.
    result = subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    work = tmp_path_factory.mktemp("distributions")
    source = work / "clone"
    shutil.copytree(REPO, source, ignore=NOT_IN_A_CLONE)
    out = work / "dist"
    build("--sdist", "--outdir", str(out), str(source))
    with tarfile.open(out / f"{STEM}.tar.gz") as sdist:
        sdist.extractall(work / "unpacked", filter="data")
    build("--wheel", "--outdir", str(out), str(work / "unpacked" / STEM))
    return out


@pytest.fixture(scope="module")
def wheel(dist: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(dist / f"{STEM}-py3-none-any.whl")


@pytest.fixture(scope="module")
def sdist_names(dist: Path) -> set[str]:
    with tarfile.open(dist / f"{STEM}.tar.gz") as sdist:
        return {name.removeprefix(f"{STEM}/") for name in sdist.getnames()}


@pytest.fixture(scope="module")
def metadata(wheel: zipfile.ZipFile) -> Message:
    return email.parser.Parser().parsestr(wheel.read(f"{STEM}.dist-info/METADATA").decode("utf-8"))


def test_the_metadata_is_an_official_providers(metadata: Message) -> None:
    assert metadata["Name"] == "airflow-provider-leadact"
    assert metadata["Version"] == __version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE", "NOTICE"]
    assert metadata["Author"] == "airflow-provider-leadact contributors"
    assert {"airflow", "leadsquared"} <= set(metadata["Keywords"].split(","))
    assert metadata["Requires-Python"] == ">=3.10"
    assert metadata["Description-Content-Type"] == "text/markdown"
    assert metadata.get_payload().startswith("# airflow-provider-leadact")


def test_the_classifiers_are_known_and_say_provider_and_pythons(metadata: Message) -> None:
    classifiers = metadata.get_all("Classifier")
    assert set(classifiers) <= KNOWN_CLASSIFIERS, set(classifiers) - KNOWN_CLASSIFIERS
    assert {"Framework :: Apache Airflow", "Framework :: Apache Airflow :: Provider"} <= set(classifiers)
    pythons = {
        c.rpartition(" :: ")[2] for c in classifiers if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    assert pythons == {"3.10", "3.11", "3.12", "3.13"}
    # The licence is the SPDX License-Expression; setuptools>=77 refuses a licence classifier beside it.
    assert not [c for c in classifiers if c.startswith("License ::")]


def test_airflow_has_a_lower_bound_only_and_the_extras_are_the_users(metadata: Message) -> None:
    requirements = [Requirement(line) for line in metadata.get_all("Requires-Dist")]
    (airflow,) = [r for r in requirements if r.name == "apache-airflow"]
    assert str(airflow.specifier) == ">=3.1" and airflow.marker is None
    assert set(metadata.get_all("Provides-Extra")) == {"parquet", "redis", "postgres", "sqlite", "openlineage"}
    # The development tools are a dependency group, which users never install.
    names = {r.name for r in requirements}
    assert not names & {"pytest", "hypothesis", "ruff", "mypy", "twine", "build", "selenium"}


def test_the_wheel_holds_the_package_the_licence_and_the_provider_entry_point(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert {name.split("/")[0] for name in names} == {PACKAGE, f"{STEM}.dist-info"}
    modules = {path.relative_to(REPO).as_posix() for path in (REPO / PACKAGE).rglob("*.py")}
    assert modules <= names
    assert f"{PACKAGE}/py.typed" in names
    for name in ("LICENSE", "NOTICE"):
        assert wheel.read(f"{STEM}.dist-info/licenses/{name}") == (REPO / name).read_bytes()
    entry_points = wheel.read(f"{STEM}.dist-info/entry_points.txt").decode()
    assert "[apache_airflow_provider]" in entry_points
    assert "provider_info = airflow_provider_leadact.get_provider_info:get_provider_info" in entry_points


def test_the_sdist_builds_the_wheel_and_ships_no_tests(sdist_names: set[str]) -> None:
    assert {"LICENSE", "NOTICE", "README.md", "pyproject.toml", "PKG-INFO"} <= sdist_names
    modules = {path.relative_to(REPO).as_posix() for path in (REPO / PACKAGE).rglob("*.py")}
    assert modules <= sdist_names
    assert not [name for name in sdist_names if name == "tests" or name.startswith("tests/")]


def test_the_licence_is_the_full_apache_2_text() -> None:
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    for part in ("Apache License", "Version 2.0, January 2004", "TERMS AND CONDITIONS FOR USE", "END OF TERMS"):
        assert part in text
    assert "airflow-provider-leadact contributors" in (REPO / "NOTICE").read_text(encoding="utf-8")


def test_twine_accepts_both(dist: Path) -> None:
    files = sorted(str(path) for path in dist.iterdir())
    assert len(files) == 2
    result = subprocess.run(
        [str(BIN / "twine"), "check", "--strict", *files], capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 2, result.stdout
