"""The projection, compiled once per selection: `plan_fields(needed_paths(...))`, memoised.

A cached document's AST is never mutated, so the plan of a mutation field depends only on its
field nodes, the payload type, the backend profile, and the values of the variables its
`@skip`/`@include` directives read. Entries hold those objects, so an `id()` in a key can never
be reused by another object while the entry lives. Bounded LRU; one event loop, no awaits.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final, NamedTuple

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLObjectType,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
)

from medusa_client.profiles import BackendProfile
from schema.projection import FieldsPlan, needed_paths, plan_fields

__all__ = ["compiled_plan"]

_MAX_SELECTIONS: Final = 1024
_MAX_PLANS_PER_SELECTION: Final = 64
_CONDITIONS: Final = frozenset({"skip", "include"})


class _Entry(NamedTuple):
    anchors: tuple[object, ...]  # keep the keyed objects alive: their ids stay theirs
    variables: tuple[str, ...]  # the variables @skip/@include read, anywhere in the selection
    plans: dict[tuple[bool, ...], FieldsPlan]


_entries: OrderedDict[tuple[int, ...], _Entry] = OrderedDict()


def compiled_plan(
    field_nodes: Sequence[FieldNode],
    payload_type: GraphQLObjectType,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    profile: BackendProfile,
) -> FieldsPlan:
    """`plan_fields(needed_paths(field_nodes, ...), profile)`, computed once per key."""
    key = (*map(id, field_nodes), id(payload_type), id(profile))
    entry = _entries.get(key)
    if entry is None:
        entry = _Entry(
            (*field_nodes, payload_type, profile), _condition_variables(field_nodes, fragments), {}
        )
        _entries[key] = entry
        if len(_entries) > _MAX_SELECTIONS:
            _entries.popitem(last=False)
    else:
        _entries.move_to_end(key)
    # The walker treats anything but `true` as false: so does the key.
    values = tuple(variables.get(name) is True for name in entry.variables)
    plan = entry.plans.get(values)
    if plan is None:
        plan = plan_fields(needed_paths(field_nodes, payload_type, fragments, variables), profile)
        if len(entry.plans) < _MAX_PLANS_PER_SELECTION:
            entry.plans[values] = plan
    return plan


def _condition_variables(
    field_nodes: Iterable[FieldNode], fragments: Mapping[str, FragmentDefinitionNode]
) -> tuple[str, ...]:
    """Every variable an `if:` of @skip/@include reads under these nodes (fragments included)."""
    found: set[str] = set()
    seen_fragments: set[str] = set()
    todo: list[FieldNode | InlineFragmentNode | FragmentSpreadNode] = list(field_nodes)
    while todo:
        node = todo.pop()
        for directive in node.directives or ():
            if directive.name.value in _CONDITIONS:
                for argument in directive.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        found.add(argument.value.name.value)
        selection_set: SelectionSetNode | None
        if isinstance(node, FragmentSpreadNode):
            fragment = fragments.get(node.name.value)
            if fragment is None or node.name.value in seen_fragments:
                continue
            seen_fragments.add(node.name.value)
            selection_set = fragment.selection_set
        else:
            selection_set = node.selection_set
        if selection_set is not None:
            todo.extend(selection_set.selections)  # type: ignore[arg-type]  # the three kinds
    return tuple(sorted(found))
