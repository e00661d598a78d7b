"""Cheap structural limits, checked before validation so hostile documents cost little.

Validation (OverlappingFieldsCanBeMerged in particular) can be quadratic in the document;
depth and alias counts are linear, so they run first. The schema is cyclic through its
back-references (session -> collection -> sessions ...), which makes a depth limit necessary.
"""

from __future__ import annotations

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)

__all__ = ["MAX_EXPANDED_FIELDS", "check_limits"]

#: Selections visited after expanding every fragment spread: bounds fan-out ("billion laughs")
#: documents. Spreads and inline fragments count too, not only fields: a fan-out of spreads
#: that never reach a field (or a dense cycle of them) is exponential work all the same.
MAX_EXPANDED_FIELDS = 5_000


def check_limits(document: DocumentNode, *, max_depth: int, max_aliases: int) -> list[GraphQLError]:
    """Errors for each operation deeper than `max_depth` or with more than `max_aliases`."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    errors: list[GraphQLError] = []
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        counter = _Counter(fragments, max_depth)
        depth = counter.depth(definition.selection_set, 0, frozenset())
        name = definition.name.value if definition.name else "anonymous"
        problems = []
        if depth > max_depth:
            problems.append(f"is nested deeper than the maximum depth of {max_depth}.")
        if counter.visited > MAX_EXPANDED_FIELDS:
            problems.append(
                f"expands to more than {MAX_EXPANDED_FIELDS} selections (fields and fragments)."
            )
        elif counter.aliases > max_aliases:
            problems.append(f"uses {counter.aliases} aliases; the maximum is {max_aliases}.")
        errors.extend(
            GraphQLError(
                f"Operation '{name}' {problem}",
                definition,
                extensions={"code": "GRAPHQL_VALIDATION_FAILED"},
            )
            for problem in problems
        )
    return errors


class _Counter:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode], max_depth: int) -> None:
        self.fragments = fragments
        self.max_depth = max_depth
        self.aliases = 0
        self.visited = 0

    def depth(self, selection_set: SelectionSetNode, level: int, seen: frozenset[str]) -> int:
        """The deepest field level below `selection_set`, stopping early past the limit."""
        if level > self.max_depth:
            return level
        deepest = level
        for selection in selection_set.selections:
            self.visited += 1
            if self.visited > MAX_EXPANDED_FIELDS:
                break
            if isinstance(selection, FieldNode):
                if selection.alias is not None:
                    self.aliases += 1
                below = level + 1
                if selection.selection_set is not None:
                    below = self.depth(selection.selection_set, level + 1, seen)
                deepest = max(deepest, below)
            elif isinstance(selection, InlineFragmentNode):
                deepest = max(deepest, self.depth(selection.selection_set, level, seen))
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is not None and name not in seen:  # cycles are a validation error
                    deepest = max(deepest, self.depth(fragment.selection_set, level, seen | {name}))
        return deepest
