"""`make lint` enforces the layers: an import against a contract fails with the contract's name.

Each case copies the packages and pyproject.toml into a temporary folder, adds one import
that breaks a contract, and runs import-linter there exactly as the Makefile does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
CONTRACTS = {contract["type"]: contract["name"] for contract in CONFIG["contracts"]}
#: `make lint`'s own import-linter line: `$(PYTHON) -c "<this>"`.
LINT = next(
    line.split('-c "', 1)[1].rstrip('"')
    for line in (ROOT / "Makefile").read_text().splitlines()
    if "importlinter" in line
)


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603  # our interpreter on the Makefile's own command
        [sys.executable, "-c", LINT],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for package in CONFIG["root_packages"]:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("*.pyc"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


def test_the_tree_as_committed_keeps_every_contract(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(CONTRACTS)} kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        # The bottom layer reaching up to the server.
        ("medusa_client/errors.py", "import gateway.limits", CONTRACTS["layers"]),
        # The schema reaching up to the server.
        ("schema/cost.py", "import gateway.config", CONTRACTS["layers"]),
        # The sandbox and the schema are siblings: neither imports the other.
        ("sandbox/emulator.py", "import schema.types", CONTRACTS["layers"]),
        # The request path importing the build-time downloader.
        ("gateway/endpoint.py", "import gateway.tools.graphiql_assets", CONTRACTS["forbidden"]),
    ],
)
def test_a_forbidden_import_fails_with_the_contracts_name(
    tree: Path, module: str, line: str, contract: str
) -> None:
    path = tree / module
    path.write_text(f"{path.read_text()}\n{line}  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    assert f"{contract} BROKEN" in result.stdout, result.stdout
    assert module.removesuffix(".py").replace("/", ".") in result.stdout
