"""A faithful, pure model of how Medusa 2.21 turns `fields` into the answer's shape.

Used by the embedded sandbox (so it answers like the real server) and by the projection
property tests (so the compiler is checked against Medusa's rules, not against itself).
Behaviour as recorded from a real 2.21.2 server (`tests/fixtures/recordings/`):

1. absent -> the defaults `id,currency_code,amount,*payment_sessions`;
2. split on ",", empty items dropped; an empty list -> only `id`;
3. one bare item (no `+`/`-`/space prefix, no `*` prefix or `.*` suffix) switches to replace
   mode: the defaults are dropped and prefixes stripped (so `-x` *adds* x there);
4. otherwise `+x`/` x` add, `-x` removes a default equal to x (star aside) or under `x.`;
5. `id` is always returned; paths outside the allow-list are silently dropped (`None`: open);
6. `*rel`/`rel.*` returns every column of rel; `rel.col` returns col plus the row's id;
   a bare relation name (`payment_providers`) returns nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

__all__ = ["DEFAULTS", "RELATION_KEYS", "effective_fields", "project"]

#: What the payment-collection routes return when `fields` is absent, in Medusa's order
#: (its `defaultPaymentCollectionFields`).
DEFAULTS: Final = ("id", "currency_code", "amount", "*payment_sessions")

#: Keys that hold related rows (on any entity of the graph); every other key is a column,
#: including JSON columns such as `data`, which may well contain an `id` of their own.
RELATION_KEYS: Final = frozenset(
    {
        "payment_sessions",
        "payment_providers",
        "payments",
        "captures",
        "refunds",
        "refund_reason",
        "payment",
        "payment_session",
        "payment_collection",
    }
)

_PREFIX: Final = re.compile(r"^[+ \t-]+")


def _is_modifier(item: str) -> bool:
    return item[0] in "+- \t" or item.startswith("*") or item.endswith(".*")


def _normalize(item: str) -> tuple[str, bool]:
    """`*rel` / `rel.*` -> (rel, True); `x` -> (x, False)."""
    if item.startswith("*"):
        return item[1:], True
    if item.endswith(".*"):
        return item[:-2], True
    return item, False


def effective_fields(
    fields: str | None, allowed: frozenset[str] | None, defaults: Iterable[str] = DEFAULTS
) -> list[str]:
    """The field items Medusa queries for a `fields` value, after mode and allow-list.

    `defaults` are the route's default fields (the payment-collection routes' by default).
    """
    if fields is None:
        items = list(defaults)
    else:
        raw = [item for item in fields.split(",") if item]
        if any(not _is_modifier(item) for item in raw) or not raw:
            items = [_PREFIX.sub("", item).strip() for item in raw]
        else:
            items = list(defaults)
            for item in raw:
                if item[0] == "-":
                    gone = item[1:].strip()
                    items = [
                        f
                        for f in items
                        if f.removeprefix("*") != gone and not f.startswith(f"{gone}.")
                    ]
                else:
                    items.append(_PREFIX.sub("", item).strip())
    items = [item for item in items if item]
    if allowed is not None:
        items = [item for item in items if _normalize(item)[0] in allowed]
    if "id" not in items:
        items.insert(0, "id")
    return list(dict.fromkeys(items))


def project(record: Mapping[str, Any], fields: Iterable[str]) -> dict[str, Any]:
    """Shape `record` (a full payment collection) the way Medusa's query graph would."""
    columns: set[str] = set()
    stars: set[str] = set()
    nested: dict[str, list[str]] = {}
    for item in fields:
        path, star = _normalize(item)
        head, _, rest = path.partition(".")
        if star and not rest:
            stars.add(head)
        elif rest:
            nested.setdefault(head, []).append(f"*{rest}" if star else rest)
        else:
            columns.add(head)
    out: dict[str, Any] = {}
    for name in columns:
        if name in record and name not in RELATION_KEYS:
            out[name] = record[name]
    for name in stars | set(nested):
        if name not in record or name not in RELATION_KEYS:
            continue
        shape = _whole_row if name in stars else _row_id
        out[name] = _map(record[name], shape, nested.get(name, []))
    return out


def _whole_row(row: Mapping[str, Any], sub_fields: list[str]) -> dict[str, Any]:
    """`*rel`: every column, plus whatever nested paths were asked for under it."""
    return {**_columns(row), **project(row, sub_fields)}


def _row_id(row: Mapping[str, Any], sub_fields: list[str]) -> dict[str, Any]:
    """`rel.col`: the asked-for paths plus the row's id, which Medusa always adds."""
    return {"id": row.get("id"), **project(row, sub_fields)}


def _columns(row: Mapping[str, Any]) -> dict[str, Any]:
    """Every column of a row; a to-one relation shows as `null` when it is empty."""
    return {k: v for k, v in row.items() if k not in RELATION_KEYS or v is None}


def _map(
    value: object,
    shape: Callable[[Mapping[str, Any], list[str]], dict[str, Any]],
    sub_fields: list[str],
) -> object:
    if isinstance(value, list):
        return [shape(row, sub_fields) for row in value]
    if isinstance(value, dict):
        return shape(value, sub_fields)
    return value
