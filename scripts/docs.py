"""`make docs`: regenerate the reference tables in docs/ from the code they describe.

Each generated table sits between two markers in its page,

    <!-- BEGIN GENERATED settings: make docs -->
    ...
    <!-- END GENERATED settings -->

and everything around the markers is prose, kept as written. `python scripts/docs.py` rewrites
the tables; `--check` only says which page is stale (tests/test_docs.py runs it), so a setting
or an error code added without `make docs` fails the suite.
"""

from __future__ import annotations

import argparse
import sys
import types
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt, Le
from pydantic.fields import FieldInfo

import gateway.app  # noqa: F401  # loads every layer, so the exception tree is whole
from gateway.config import Settings
from gateway.errors import error_classes
from medusa_client.errors import GatewayError

__all__ = ["DOCS", "TABLES", "errors_table", "main", "regenerated", "settings_table"]

DOCS = Path(__file__).resolve().parents[1] / "docs"


def settings_table() -> str:
    """One row per `Settings` field: its variable, default, accepted values and description."""
    rows = ["| variable | default | values | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        if not field.description:
            msg = f"Settings.{name} has no description: docs/settings.md needs one"
            raise ValueError(msg)
        values = _values(field)
        rows.append(
            f"| `GATEWAY_{name.upper()}` | {_default(field)} | {values} | {field.description} |"
        )
    return "\n".join(rows)


def _default(field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, list):
        return "empty" if not value else f"`{','.join(map(str, value))}`"
    return f"`{value}`"


#: How the table names a field's type when it is not a choice, a flag, a number or a list.
_TYPE_NAMES = {
    "AnyHttpUrl": "http(s) URL",
    "SecretStr": "string (secret)",
    "str": "string",
    "Path": "folder",
}


def _values(field: FieldInfo) -> str:
    annotation: Any = field.annotation
    arguments = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is typing.Literal:
        return " \\| ".join(f"`{choice}`" for choice in arguments)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(arguments) == 1:
        annotation = arguments[0]  # `X | None`: unset is the default column's business
    if annotation is bool:
        return "`true` \\| `false`"
    if annotation in (int, float):
        return _bounds(field)
    if typing.get_origin(annotation) is list:
        return "comma-separated"
    name = getattr(annotation, "__name__", str(annotation))
    return _TYPE_NAMES.get(name, name)


def _bounds(field: FieldInfo) -> str:
    kind = "whole number" if field.annotation is int else "number"
    high = next((m.le for m in field.metadata if isinstance(m, Le)), None)
    ge = next((m.ge for m in field.metadata if isinstance(m, Ge)), None)
    gt = next((m.gt for m in field.metadata if isinstance(m, Gt)), None)
    if high is not None and ge is not None:
        return f"{kind} from {ge} to {high}"
    if high is not None and gt is not None:
        return f"{kind} above {gt}, at most {high}"
    return kind


def errors_table() -> str:
    """One row per code and class that declares it: retryable, and when it is raised."""
    rows = ["| `extensions.code` | retryable | raised as | when |", "|---|---|---|---|"]
    declared = [cls for cls in error_classes() if _declares_code(cls)]
    entries = sorted((code, cls.__name__, cls) for cls in declared for code in cls.codes())
    for code, name, cls in entries:
        rows.append(f"| `{code}` | {_retryable(cls)} | `{name}` | {_summary(cls)} |")
    return "\n".join(rows)


def _declares_code(cls: type[GatewayError]) -> bool:
    # Intermediate classes (OutcomeUnknown, DocumentRejected...) are never raised as such.
    return cls is not GatewayError and ("code" in vars(cls) or "codes" in vars(cls))


def _retryable(cls: type[GatewayError]) -> str:
    if hasattr(cls, "for_keyed_request"):
        return "no; yes for a read, or a request with an idempotency key"
    return "yes" if cls.retryable else "no"


def _summary(cls: type[GatewayError]) -> str:
    return (cls.__doc__ or "").strip().splitlines()[0]


#: Page -> table name -> generator.
TABLES: dict[str, dict[str, Callable[[], str]]] = {
    "settings.md": {"settings": settings_table},
    "errors.md": {"errors": errors_table},
}


def regenerated(text: str, tables: dict[str, Callable[[], str]]) -> str:
    """`text` with each generated table between its markers replaced by a fresh one."""
    for name, generate in tables.items():
        begin = f"<!-- BEGIN GENERATED {name}: make docs -->\n"
        end = f"<!-- END GENERATED {name} -->"
        start, stop = text.find(begin), text.find(end)
        if start < 0 or stop < start:
            msg = f"no markers for the generated table {name!r}"
            raise ValueError(msg)
        text = f"{text[: start + len(begin)]}{generate()}\n{text[stop:]}"
    return text


def main(argv: Sequence[str] | None = None) -> int:
    """Rewrite the stale pages (or with `--check`, list them); 1 when one was stale."""
    parser = argparse.ArgumentParser(prog="make docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing, report staleness")
    args = parser.parse_args(argv)
    stale = []
    for page, tables in TABLES.items():
        path = DOCS / page
        text = path.read_text()
        fresh = regenerated(text, tables)
        if fresh != text:
            stale.append(page)
            if not args.check:
                path.write_text(fresh)
    for page in stale:
        verb = "is stale (run `make docs`)" if args.check else "regenerated"
        print(f"docs/{page} {verb}", file=sys.stderr)
    return 1 if stale and args.check else 0


if __name__ == "__main__":
    raise SystemExit(main())
