"""Cheap structural limits, checked before validation so hostile documents cost little.

Validation (OverlappingFieldsCanBeMerged in particular) can be quadratic in the document;
depth and alias counts are linear, so they run first, and they cap what feeds validation: the
selections written (its linear cost), the selections reached through fragments (shared by all
operations of a document), and the pairs of same-named selections the overlap rule compares
(one field repeated 300 times is 45,000 pairs, each compared with its sub-selections).
The schema is cyclic through its back-references (session -> collection -> sessions ...),
which makes a depth limit necessary.
Each operation's cost (backend calls it would plan, payment-session mutations it holds) is
counted in the same walk, so a batch can be bounded as a whole. What each root field costs is
the schema's declaration (`schema.cost`): this module knows no field by name. Every error here
has the code OPERATION_LIMIT and is raised before any backend call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
)

from medusa_client.errors import OperationLimitExceeded
from schema.cost import FieldCost

__all__ = [
    "MAX_EXPANDED_FIELDS",
    "OperationCost",
    "check_limits",
    "cost_problems",
    "limit_error",
]

#: Selections visited after expanding every fragment spread: bounds fan-out ("billion laughs")
#: documents. Spreads and inline fragments count too, not only fields: a fan-out of spreads
#: that never reach a field (or a dense cycle of them) is exponential work all the same.
MAX_EXPANDED_FIELDS = 5_000
_FREE: Final = FieldCost(0)


@dataclass(frozen=True, slots=True)
class OperationCost:
    """What one operation would do at the backend, counted statically (skip/include ignored)."""

    payment_mutations: int = 0
    upstream_calls: int = 0

    def __add__(self, other: OperationCost) -> OperationCost:
        return OperationCost(
            self.payment_mutations + other.payment_mutations,
            self.upstream_calls + other.upstream_calls,
        )


def limit_error(message: str, node: OperationDefinitionNode | None = None) -> GraphQLError:
    """A GraphQL error located at `node`, carrying an OperationLimitExceeded."""
    return GraphQLError(message, node, original_error=OperationLimitExceeded(message))


def check_limits(
    document: DocumentNode,
    *,
    max_depth: int,
    max_aliases: int,
    field_costs: Mapping[str, FieldCost],
    max_payment_mutations: int,
    max_upstream_calls: int,
    max_selections: int,
    max_field_merges: int,
    costs: dict[str | None, OperationCost] | None = None,
) -> list[GraphQLError]:
    """Errors for each operation over a limit; fills `costs` (by operation name) if given.

    `field_costs` is the schema's declared cost of each root field, each time it appears
    (aliases and fragments included); a field it does not list (a typo, `__typename`) costs
    nothing here and fails validation next.
    """
    written = count_selections(document)
    if written > max_selections:
        # Unused fragments count too: validation visits every selection written.
        msg = f"The document has {written} selections; the maximum is {max_selections}."
        return [limit_error(msg)]
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    errors: list[GraphQLError] = []
    budget = _Budget()  # shared: N operations spreading one big fragment cost N times its size
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        counter = _Counter(fragments, max_depth, budget)
        depth = counter.depth(definition.selection_set, 0, frozenset(), ())
        name = definition.name.value if definition.name else "anonymous"
        is_mutation = definition.operation is OperationType.MUTATION
        declared = [field_costs.get(f, _FREE) for f in counter.root_fields.values()]
        cost = OperationCost(
            sum(1 for f in declared if is_mutation and f.creates_payment_session),
            sum(f.backend_calls for f in declared),
        )
        if costs is not None:
            costs[definition.name.value if definition.name else None] = cost
        problems = []
        if depth > max_depth:
            problems.append(f"is nested deeper than the maximum depth of {max_depth}.")
        if budget.visited > MAX_EXPANDED_FIELDS:
            problems.append(
                f"expands to more than {MAX_EXPANDED_FIELDS} selections (fields and fragments)."
            )
        else:
            if counter.aliases > max_aliases:
                problems.append(f"uses {counter.aliases} aliases; the maximum is {max_aliases}.")
            if counter.merges > max_field_merges:
                problems.append(
                    f"repeats selections: validation would compare {counter.merges} pairs of "
                    f"same-named fields or fragments; the maximum is {max_field_merges} "
                    "(select each field once)."
                )
            problems.extend(cost_problems(cost, max_payment_mutations, max_upstream_calls))
        errors.extend(
            limit_error(f"Operation '{name}' {problem}", definition) for problem in problems
        )
    return errors


def count_selections(document: DocumentNode) -> int:
    """Selections written in the document (fragments counted once, used or not)."""
    count = 0
    pending: list[SelectionSetNode] = [
        d.selection_set
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode | FragmentDefinitionNode)
    ]
    while pending:
        selections = pending.pop().selections
        count += len(selections)
        for selection in selections:
            below = getattr(selection, "selection_set", None)
            if below is not None:
                pending.append(below)
    return count


def cost_problems(
    cost: OperationCost, max_payment_mutations: int, max_upstream_calls: int
) -> list[str]:
    """Why `cost` is too high (for one operation or a whole batch), if it is."""
    problems = []
    if cost.payment_mutations > max_payment_mutations:
        problems.append(
            f"creates {cost.payment_mutations} payment sessions; the maximum is "
            f"{max_payment_mutations} (each is a separate, non-idempotent backend call)."
        )
    if cost.upstream_calls > max_upstream_calls:
        problems.append(
            f"would make {cost.upstream_calls} backend calls; the maximum is {max_upstream_calls}."
        )
    return problems


class _Budget:
    """Selections visited with fragments expanded, across every operation of a document."""

    visited = 0


class _Counter:
    def __init__(
        self, fragments: dict[str, FragmentDefinitionNode], max_depth: int, budget: _Budget
    ) -> None:
        self.fragments = fragments
        self.max_depth = max_depth
        self.budget = budget
        self.aliases = 0
        #: Pairs the overlap rule compares: fields sharing a response path, and fragment
        #: spreads side by side in one selection (an upper bound of its work).
        self.merges = 0
        self._fields_at: dict[tuple[str, ...], int] = {}
        #: Root fields by response key: fields sharing a key merge and execute once.
        self.root_fields: dict[str, str] = {}

    def depth(
        self,
        selection_set: SelectionSetNode,
        level: int,
        seen: frozenset[str],
        path: tuple[str, ...],
        spreads: list[int] | None = None,
    ) -> int:
        """The deepest field level below `selection_set`, stopping early past the limit."""
        if level > self.max_depth:
            return level
        # Inline fragments and spread fragments share their parent's field collection.
        collection = [0] if spreads is None else spreads
        deepest = level
        for selection in selection_set.selections:
            self.budget.visited += 1
            if self.budget.visited > MAX_EXPANDED_FIELDS:
                break
            if isinstance(selection, FieldNode):
                key = (selection.alias or selection.name).value
                if level == 0:
                    self.root_fields[key] = selection.name.value
                if selection.alias is not None:
                    self.aliases += 1
                at = (*path, key)
                same = self._fields_at.get(at, 0)
                self.merges += same
                self._fields_at[at] = same + 1
                below = level + 1
                if selection.selection_set is not None:
                    below = self.depth(selection.selection_set, level + 1, seen, at)
                deepest = max(deepest, below)
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(
                    deepest, self.depth(selection.selection_set, level, seen, path, collection)
                )
            elif isinstance(selection, FragmentSpreadNode):
                self.merges += collection[0]
                collection[0] += 1
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:  # cycles are a validation error
                    below = self.depth(
                        fragment.selection_set, level, seen | {name}, path, collection
                    )
                    deepest = max(deepest, below)
        return deepest
