"""The suite's own layout: folders mirror the package, shared code lives only in tests/support."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "airflow_provider_leadact"
TESTS = REPO / "tests"
#: Folders of tests that run across the whole package rather than one part of it.
SUITES = {"deployment", "integration", "packaging", "reliability", "support"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_tests_import_shared_code_only_from_support() -> None:
    offenders = {
        f"{path.relative_to(REPO)}: {name}"
        for path in TESTS.rglob("*.py")
        if "support" not in path.relative_to(TESTS).parts
        for name in imported_modules(path)
        if (name == "tests" or name.startswith("tests.")) and not name.startswith("tests.support")
    }
    assert offenders == set()


def test_bench_does_not_import_the_tests() -> None:
    offenders = {
        f"{path.relative_to(REPO)}: {name}"
        for path in (REPO / "bench").rglob("*.py")
        for name in imported_modules(path)
        if name == "tests" or name.startswith("tests.")
    }
    assert offenders == set()


def test_test_folders_mirror_the_package() -> None:
    subpackages = {path.parent.name for path in PACKAGE.glob("*/__init__.py")}
    folders = {path.name for path in TESTS.iterdir() if path.is_dir() and path.name != "__pycache__"}
    assert folders - SUITES <= subpackages, "a test folder that is neither a subpackage nor a suite"
    modules = {path.stem for path in PACKAGE.glob("*.py")}
    top_level = {path.stem.removeprefix("test_") for path in TESTS.glob("test_*.py")} - {"layout"}
    assert top_level <= modules, "tests/test_<name>.py for a module that does not exist"
