"""The docs say what the code does: generated tables are fresh, the README is short and true."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.errors import error_classes
from scripts import docs

ROOT = Path(__file__).parents[1]
README = (ROOT / "README.md").read_text()
PAGES = sorted(path.name for path in (ROOT / "docs").glob("*.md"))


@pytest.mark.parametrize("page", sorted(docs.TABLES))
def test_the_generated_tables_are_fresh(page: str) -> None:
    text = (docs.DOCS / page).read_text()
    assert docs.regenerated(text, docs.TABLES[page]) == text, f"run `make docs` ({page})"


@pytest.mark.parametrize("name", list(Settings.model_fields))
def test_every_setting_is_in_the_settings_table(name: str) -> None:
    assert f"| `GATEWAY_{name.upper()}` |" in (docs.DOCS / "settings.md").read_text()


@pytest.mark.parametrize(
    "code",
    sorted({code for cls in error_classes() for code in cls.codes()} - {"INTERNAL_SERVER_ERROR"}),
)
def test_every_error_code_is_in_the_errors_table(code: str) -> None:
    assert f"| `{code}` |" in (docs.DOCS / "errors.md").read_text()


def test_a_stale_table_is_reported_and_regenerated(tmp_path: Path) -> None:
    page = (
        "<!-- BEGIN GENERATED settings: make docs -->\n| old |\n<!-- END GENERATED settings -->\n"
    )
    fresh = docs.regenerated(page, docs.TABLES["settings.md"])
    assert "| old |" not in fresh
    assert "`GATEWAY_MEDUSA_URL`" in fresh
    assert docs.regenerated(fresh, docs.TABLES["settings.md"]) == fresh


def test_the_readme_fits_and_keeps_its_two_commands() -> None:
    lines = README.splitlines()
    assert len(lines) <= 200
    commands = [line for line in README.split("```", 2)[1].splitlines()[1:] if line]
    assert len(commands) == 2, "the README opens with exactly two commands: serve, test"
    assert commands[0].startswith("pip install . && python -m gateway ")
    assert commands[1].startswith("pip install -e '.[dev]' && make test ")


def module_map() -> dict[str, set[str]]:
    """The README's picture: each top-level folder and the `.py` names drawn under it."""
    block = README.split("## How it is built", 1)[1].split("```text\n", 1)[1].split("```", 1)[0]
    drawn: dict[str, set[str]] = {}
    folder = ""
    for line in block.splitlines():
        if not line.startswith(" "):
            folder = line.split("/", 1)[0]
            drawn[folder] = set()
        drawn[folder].update(re.findall(r"(?<![/\w])[a-z_]+\.py", line))
    return drawn


def test_the_readme_module_map_draws_every_package() -> None:
    layers = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    assert set(module_map()) == set(layers["root_packages"])


@pytest.mark.parametrize("package", sorted(module_map()))
def test_the_readme_module_map_names_the_modules_of_its_folder(package: str) -> None:
    modules = {p.name for p in (ROOT / package).glob("*.py")} - {"__init__.py"}
    nested = {p.name for p in (ROOT / package).glob("*/*.py")} - {"__init__.py"}
    drawn = module_map()[package]
    assert modules - drawn == set(), f"draw these in the README: {modules - drawn}"
    assert drawn - modules - nested == set(), "the README names modules that are gone"


@pytest.mark.parametrize("page", PAGES)
def test_every_page_is_in_the_index(page: str) -> None:
    if page != "README.md":
        assert f"]({page})" in (docs.DOCS / "README.md").read_text()


@pytest.mark.parametrize("page", ["../README.md", *PAGES])
def test_every_relative_link_resolves(page: str) -> None:
    path = docs.DOCS / page
    for target in re.findall(r"\]\(([^)#:]+)(?:#[^)]*)?\)", path.read_text()):
        assert (path.parent / target).exists(), f"{page} links to {target}"
