from __future__ import annotations

import time

from graphql import parse

from gateway.limits import MAX_EXPANDED_FIELDS, check_limits


def errors(document: str, depth: int = 5, aliases: int = 3) -> list[str]:
    return [e.message for e in check_limits(parse(document), max_depth=depth, max_aliases=aliases)]


def test_depth_counts_fields_through_fragments() -> None:
    shallow = "query { a { b { c } } }"
    assert errors(shallow, depth=3) == []
    assert errors(shallow, depth=2) == [
        "Operation 'anonymous' is nested deeper than the maximum depth of 2."
    ]
    via_fragments = "query Q { a { ...F } } fragment F on T { b { ... on T { c { d } } } }"
    assert "deeper" in errors(via_fragments, depth=3)[0]


def test_aliases_are_counted() -> None:
    assert errors("{ a: x b: x c: x }", aliases=3) == []
    assert "uses 4 aliases" in errors("{ a: x b: x c: x d: x }", aliases=3)[0]


def test_fragment_fan_out_is_stopped_quickly() -> None:
    levels = 25
    fragments = "\n".join(
        f"fragment F{i} on T {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    document = f"query {{ ...F0 }}\n{fragments}\nfragment F{levels} on T {{ x }}"
    started = time.perf_counter()
    found = errors(document, depth=100, aliases=1000)
    assert time.perf_counter() - started < 1.0
    assert found == [f"Operation 'anonymous' expands to more than {MAX_EXPANDED_FIELDS} fields."]


def test_cyclic_fragments_do_not_hang() -> None:
    document = "query { ...A } fragment A on T { x ...B } fragment B on T { y ...A }"
    assert errors(document) == []  # the cycle itself is reported by validation
