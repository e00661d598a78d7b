from __future__ import annotations

import re
from pathlib import Path

from schema.schema import print_sdl
from tests.graphql_helpers import ANSWER_TYPES, compile_plan

ROOT = Path(__file__).parent.parent


def test_committed_sdl_matches_the_schema() -> None:
    # Regenerate with `make schema` after changing a type.
    assert (ROOT / "schema/schema.graphql").read_text() == print_sdl()


def test_every_type_of_the_answer_graph_is_in_the_schema() -> None:
    sdl = print_sdl()
    for name in ANSWER_TYPES:
        assert re.search(rf'^type {name} @key\(fields: "id", resolvable: false\) {{', sdl, re.M), (
            name
        )
    assert "enum PaymentCollectionStatus" in sdl
    assert "enum PaymentSessionStatus" in sdl
    assert "scalar DateTime" in sdl
    assert "scalar JSON" in sdl


def test_the_readme_tour_shows_the_call_the_gateway_makes() -> None:
    readme = (ROOT / "README.md").read_text()
    selection = re.search(r"createPaymentSession\(input: \$input\) \{(.*?)\n  \}", readme, re.S)
    assert selection is not None
    shown = re.search(r"payment-sessions\?fields=(\S+)", readme)
    assert shown is not None
    assert compile_plan(selection.group(1)).fields == shown.group(1)
