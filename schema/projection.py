"""Pure projection compiler: a GraphQL selection -> the Medusa `fields` string. No I/O.

Two steps, each a pure function with its own tests:
1. `needed_paths` walks the operation's selection (fragments, aliases, @skip/@include) using
   the mapping metadata declared on the Strawberry fields, and returns root-relative backend
   column paths (`amount`, `payment_sessions.status`, `payments.refunds.refund_reason.label`).
2. `plan_fields` turns those paths into the shortest `fields` value that makes the backend
   return them and nothing avoidable, for a `BackendProfile`; paths the profile cannot
   fetch are listed with a reason instead of being requested.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import quote

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLObjectType,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

from medusa_client.profiles import DEFAULT_FIELDS, BackendProfile
from schema._strawberry_compat import metadata_of
from schema.mapping import METADATA_KEY, BackReference, Column, Link, Relation, Root

__all__ = [
    "FieldsPlan",
    "entity_paths",
    "mapping_of",
    "needed_paths",
    "plan_cart_fields",
    "plan_fields",
]

_SKIP: Final = "skip"
_INCLUDE: Final = "include"


def mapping_of(graphql_field: GraphQLField) -> Column | Relation | Root | BackReference | Link:
    """The Medusa mapping declared on a field (every object field of this schema has one)."""
    mapping: Column | Relation | Root | BackReference | Link = metadata_of(graphql_field)[
        METADATA_KEY
    ]
    return mapping


def needed_paths(
    field_nodes: Iterable[FieldNode],
    payload_type: GraphQLObjectType,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> frozenset[str]:
    """Backend column paths needed to answer the selection under `field_nodes`.

    `payload_type` is the type the field returns (a payload whose fields are Root or Link).
    """
    return _walk_all(field_nodes, payload_type, fragments, variables, prefix=None)


def entity_paths(
    field_nodes: Iterable[FieldNode],
    entity_type: GraphQLObjectType,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> frozenset[str]:
    """Backend paths needed under a field that returns an entity (or a list of them) directly."""
    return _walk_all(field_nodes, entity_type, fragments, variables, prefix="") | {"id"}


def _walk_all(
    field_nodes: Iterable[FieldNode],
    root_type: GraphQLObjectType,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    prefix: str | None,
) -> frozenset[str]:
    walker = _Walker(fragments, variables)
    for node in field_nodes:
        if node.selection_set is not None and walker.included(node):
            walker.walk(node.selection_set, root_type, prefix=prefix, parents=())
    return frozenset(walker.paths)


class _Walker:
    """Depth-first walk of a validated selection; `prefix` is the current entity's path."""

    def __init__(
        self, fragments: Mapping[str, FragmentDefinitionNode], variables: Mapping[str, Any]
    ) -> None:
        self.fragments = fragments
        self.variables = variables
        self.paths: set[str] = set()

    def included(self, node: FieldNode | InlineFragmentNode | FragmentSpreadNode) -> bool:
        """Apply @skip(if:) and @include(if:), literal or variable."""
        for directive in node.directives or ():
            name = directive.name.value
            if name == _SKIP and self.condition(directive):
                return False
            if name == _INCLUDE and not self.condition(directive):
                return False
        return True

    def condition(self, directive: DirectiveNode) -> bool:
        for argument in directive.arguments or ():
            if argument.name.value == "if":
                value = argument.value
                if isinstance(value, BooleanValueNode):
                    return value.value
                if isinstance(value, VariableNode):
                    return self.variables.get(value.name.value) is True
        return False  # validation guarantees `if:`; be conservative if it is absent

    def walk(
        self,
        selection_set: SelectionSetNode,
        parent_type: GraphQLObjectType,
        prefix: str | None,
        parents: tuple[str, ...],
    ) -> None:
        for selection in selection_set.selections:
            if not self.included(selection):  # type: ignore[arg-type]  # all three node kinds
                continue
            if isinstance(selection, FieldNode):
                self.field(selection, parent_type, prefix, parents)
            elif isinstance(selection, InlineFragmentNode):
                # Every type here is an object type, so a valid fragment always applies.
                self.walk(selection.selection_set, parent_type, prefix, parents)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments.get(selection.name.value)
                if fragment is not None:
                    self.walk(fragment.selection_set, parent_type, prefix, parents)

    def field(
        self,
        node: FieldNode,
        parent_type: GraphQLObjectType,
        prefix: str | None,
        parents: tuple[str, ...],
    ) -> None:
        name = node.name.value
        if name.startswith("__"):
            return  # __typename: answered by GraphQL itself
        graphql_field = parent_type.fields[name]
        mapping = mapping_of(graphql_field)
        child = get_named_type(graphql_field.type)
        if isinstance(mapping, Column):
            self.paths.add(f"{prefix}{mapping.name}")
            return
        assert isinstance(child, GraphQLObjectType)  # noqa: S101  # schema invariant
        chain: tuple[str, ...]
        if isinstance(mapping, Root):
            target, chain = "", ()
        elif isinstance(mapping, Relation):
            target, chain = f"{prefix}{mapping.name}.", (*parents, prefix or "")
        elif isinstance(mapping, Link):
            self.paths.update(mapping.requires)
            target, chain = f"{mapping.relation}.", ("",)
        else:  # BackReference: the enclosing entity, whose prefix is on the stack
            target, chain = parents[-1], parents[:-1]
        self.paths.add(f"{target}id")
        if node.selection_set is not None:
            self.walk(node.selection_set, child, target, chain)


@dataclass(frozen=True, slots=True)
class FieldsPlan:
    """What to send and what to expect.

    `fields` is None when the parameter should be omitted (the defaults are exactly right).
    `requested` are the column paths the backend must return (to verify the answer);
    `unexposed` maps each needed path the profile cannot fetch to the reason why.
    """

    fields: str | None
    requested: frozenset[str]
    unexposed: Mapping[str, str] = field(default_factory=dict)
    #: Relations the backend expands: counted once, as plans are cached per document.
    _relations: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        relations = len({path.rpartition(".")[0] for path in self.requested} - {""})
        object.__setattr__(self, "_relations", relations)  # frozen: set once, here

    def relations(self) -> int:
        """How many relations (nested lists or rows) the backend expands for this plan."""
        return self._relations

    def reason_for(self, path: str) -> str | None:
        """Why `path` (a column or a relation) was not requested, if it was not."""
        if path in self.unexposed:
            return self.unexposed[path]
        head = f"{path}."
        for missing, reason in self.unexposed.items():
            if missing.startswith(head):
                return reason
        return None


def plan_fields(needed: Collection[str], profile: BackendProfile) -> FieldsPlan:
    """The shortest `fields` value returning every exposable needed path and nothing avoidable.

    Per relation: its columns one by one when each is exposed alone, else `*relation` (every
    column) when that is exposed, else the exposed ones alone and the rest unexposed. Then
    the cheapest spelling of that exact item set: no parameter, `fields=` (only `id`),
    replace mode or modifier mode.
    """
    items, requested, unexposed = _plan_items(needed, profile, root_star=False)
    return FieldsPlan(_spell(items), requested, unexposed)


def plan_cart_fields(needed: Collection[str], profile: BackendProfile) -> FieldsPlan:
    """`fields` for `GET /store/carts/{id}` returning the cart's collection at `needed` paths.

    The cart route applies the same allow-list under `payment_collection.` (checked against
    a real 2.21.2), with one difference: `*payment_collection` is allowed and returns every
    column of the collection (`created_at`, `metadata`, the authorized/captured/refunded
    amounts), which the payment-sessions route cannot return at all. Replace mode, so the
    cart's own dozens of default columns, items and addresses stay on the server.
    `payment_collection.id` is always asked for: an answer without the collection then
    means the cart has none, never that every asked-for path was stripped.
    """
    items, requested, unexposed = _plan_items(needed, profile, root_star=True)
    prefixed = {_under_collection(item) for item in items}
    if "*payment_collection" not in prefixed:
        prefixed.add("payment_collection.id")
    return FieldsPlan(",".join(["id", *sorted(prefixed)]), requested, unexposed)


def _under_collection(item: str) -> str:
    """A collection-relative item, spelled relative to the cart."""
    if item == "*":
        return "*payment_collection"
    if item.startswith("*"):
        return f"*payment_collection.{item[1:]}"
    return f"payment_collection.{item}"


def _plan_items(
    needed: Collection[str], profile: BackendProfile, *, root_star: bool
) -> tuple[set[str], frozenset[str], dict[str, str]]:
    """Items to ask for (`*` is the root's star), paths to expect, unexposed paths."""
    by_entity: dict[str, set[str]] = {}
    for path in needed:
        entity = path.rpartition(".")[0]
        by_entity.setdefault(entity, set()).add(path)

    items: set[str] = set()
    requested: set[str] = {"id"}
    unexposed: dict[str, str] = {}
    for entity, paths in by_entity.items():
        singles = {p for p in paths if profile.column_exposed(p)}
        if entity and singles:
            # Medusa returns a nested row's id whenever the row comes back at all.
            singles |= paths & {f"{entity}.id"}
        star_ok = profile.star_exposed(entity) if entity else root_star
        if singles == paths or not star_ok:
            items |= singles
            requested |= singles
            unexposed.update(dict.fromkeys(paths - singles, profile.reason))
        else:
            items.add(f"*{entity}")
            requested |= paths
    items.discard("id")
    _drop_implied_ids(items)
    return items, frozenset(requested), unexposed


def _drop_implied_ids(items: set[str]) -> None:
    """Medusa returns a nested row's `id` whenever any column of the row is asked for."""
    entities_with_columns = {
        item.rpartition(".")[0] for item in items if not item.endswith(".id") and "." in item
    }
    for item in [i for i in items if i.endswith(".id")]:
        if item[: -len(".id")] in entities_with_columns:
            items.discard(item)


def _spell(items: set[str]) -> str | None:
    """The cheapest way to say "exactly `items` (plus id)" in Medusa's `fields` syntax."""
    defaults = DEFAULT_FIELDS - {"id"}
    if items == defaults:
        return None
    if not items:
        return ""  # `fields=` (empty): replace mode with nothing, so only `id`
    candidates = [_replace_mode(items)]
    modifier = _modifier_mode(items, defaults)
    if modifier is not None:
        candidates.append(modifier)
    # On a tie, replace mode (first) wins: it states the exact set, independent of defaults.
    return min(candidates, key=lambda value: len(quote(value, safe=",*.")))


def _replace_mode(items: set[str]) -> str:
    ordered = sorted(items)
    if all(item.startswith("*") for item in ordered):
        ordered.insert(0, "id")  # a bare item is what switches Medusa to replace mode
    return ",".join(ordered)


def _modifier_mode(items: set[str], defaults: frozenset[str]) -> str | None:
    adds = sorted(items - defaults)
    removes = sorted(item.removeprefix("*") for item in defaults - items)
    for removed in removes:
        if any(add.startswith(f"{removed}.") for add in adds):
            return None  # `-rel` next to `+rel.col` depends on Medusa's processing order
    spelled = [add if add.startswith("*") else f"+{add}" for add in adds]
    spelled += [f"-{removed}" for removed in removes]
    return ",".join(spelled)
