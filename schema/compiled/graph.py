"""Medusa's JSON answer read in place, with exactly the object builder's rules (schema/build.py).

The builder turns the whole answer into typed objects, then graphql-core walks the ones the
selection reads. The compiled executor reads only the selected values straight from the JSON,
so each accessor here reproduces what the builder would have stored for that attribute and
what `resolve_attribute` would then have done with it: a missing key is a FIELD_NOT_EXPOSED
error for that field alone, a relation of the wrong JSON type is a BACKEND_ERROR, a
back-reference is the enclosing row, a link is the matching row of a root relation.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from medusa_client.errors import BackendProtocolError
from schema.build import FieldNotExposedError, Malformed, NotExposed
from schema.mapping import Link
from schema.projection import FieldsPlan

__all__ = ["Answer", "Row", "created_session", "link_target", "read_column", "read_relation"]

_NOT_RETURNED: Final = "the backend did not return it although it was requested"


class Answer:
    """One backend answer being written out: its plan (why paths are missing) and its root."""

    __slots__ = ("_relations", "cart_reads_columns", "plan", "root")

    def __init__(
        self, plan: FieldsPlan, raw: Mapping[str, Any] | None, *, cart_reads_columns: bool = False
    ) -> None:
        self.plan = plan
        #: A mutation's answer: its missing top-level columns are readable from the cart.
        self.cart_reads_columns = cart_reads_columns
        self.root = None if raw is None else Row(raw, "", None, self)
        self._relations: dict[str, object] = {}

    def missing(self, path: str, *, column: bool = False) -> NotExposed:
        """The marker the builder stores for a path the answer lacks (`_Builder.missing`)."""
        reason = self.plan.reason_for(path)
        if reason is None:
            return NotExposed(path, _NOT_RETURNED)
        cart_has_it = self.cart_reads_columns and column and "." not in path
        return NotExposed(path, reason, cart_has_it=cart_has_it)

    def root_relation(self, name: str) -> object:
        """The root's relation as the builder stores it: rows, None or a marker (memoised)."""
        try:
            return self._relations[name]
        except KeyError:
            assert self.root is not None  # noqa: S101  # links exist only under a root
            value = relation_value(self.root, name, many=True)
            self._relations[name] = value
            return value


class Row:
    """One JSON object of the answer: its keys, its backend path prefix, its parent row."""

    __slots__ = ("answer", "parent", "prefix", "raw")

    def __init__(
        self, raw: Mapping[str, Any], prefix: str, parent: Row | None, answer: Answer
    ) -> None:
        self.raw = raw
        self.prefix = prefix
        self.parent = parent
        self.answer = answer


def raise_marker(value: object, field: str) -> None:
    """`resolve_attribute`'s checks: reading a marker is an error, anything else is a value.

    `field` is the selected field as the client wrote it, `Type.field` in backquotes.
    """
    if value.__class__ is NotExposed:
        raise FieldNotExposedError(value, field)
    if value.__class__ is Malformed:
        path = value.path
        raise BackendProtocolError(200, f"unexpected value for `{path}`")


def read_column(
    row: Row, name: str, convert: Callable[[object], object] | None, field: str
) -> object:
    """A column's value (converted like the builder does), or FIELD_NOT_EXPOSED."""
    raw = row.raw
    if name in raw:
        value = raw[name]
        return value if convert is None else convert(value)
    raise FieldNotExposedError(row.answer.missing(row.prefix + name, column=True), field)


def relation_value(row: Row, name: str, *, many: bool) -> object:
    """What the builder stores for a relation: rows, one row, None, or a marker."""
    raw = row.raw
    path = row.prefix + name
    if name not in raw:
        return row.answer.missing(path)
    value = raw[name]
    if value is None:
        return None
    prefix = f"{path}."
    answer = row.answer
    if many:
        if not isinstance(value, list) or not all(isinstance(i, Mapping) for i in value):
            return Malformed(path)
        return [Row(item, prefix, row, answer) for item in value]
    if not isinstance(value, Mapping):
        return Malformed(path)
    return Row(value, prefix, row, answer)


def read_relation(row: Row, name: str, field: str, *, many: bool) -> object:
    """A relation's rows (or None), raising what reading its marker would raise."""
    value = relation_value(row, name, many=many)
    raise_marker(value, field)
    return value


def link_target(row: Row, link: Link, field: str) -> object:
    """The row of a root relation this row links to (the builder's `resolve_links`)."""
    answer = row.answer
    targets = answer.root_relation(link.relation)
    if targets.__class__ is Malformed:
        raise_marker(targets, field)
    if targets.__class__ is NotExposed:
        raise_marker(targets, field)
    key = link.key
    assert key is not None  # noqa: S101  # keyless links are the payload's, read elsewhere
    if key not in row.raw:
        raise_marker(answer.missing(link.requires[0]), field)
    wanted = row.raw[key]
    if wanted is not None and isinstance(targets, list):
        for target in targets:
            if target.raw.get(link.target_key) == wanted:
                return target
    return None


def created_session(answer: Answer, provider_id: str) -> object:
    """The session a payment call created (the mutation's `_created_session`), or a marker."""
    assert answer.root is not None  # noqa: S101  # a payment call always returns a collection
    sessions = relation_value(answer.root, "payment_sessions", many=True)
    if not isinstance(sessions, list):
        return sessions  # None or a marker: reading it reports why
    if not sessions:
        return None
    if len(sessions) == 1:
        return sessions[0]
    ours = [s for s in sessions if s.raw.get("provider_id", _ABSENT) == provider_id]
    return ours[-1] if ours else None


#: Stands in for an absent `provider_id`: the builder's marker never equals a provider id.
_ABSENT: Final = NotExposed("", "")
