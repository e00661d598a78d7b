"""GraphiQL, prefilled with the example mutation so a first visit runs it at once.

Strawberry ships the page; we only swap its welcome text for our example operation. If a
future Strawberry changes the page so the markers are gone, the page is served unchanged.
"""

from __future__ import annotations

import json
from typing import Final

from strawberry.http.ides import get_graphql_ide_html

__all__ = ["graphiql_html"]

_QUERY_MARKER: Final = "parameters.q || EXAMPLE_QUERY"
_VARIABLES_MARKER: Final = "parameters.variables,"


def _js_string(text: str) -> str:
    # JSON is valid JavaScript; "</" is escaped so the string cannot close the <script>.
    return json.dumps(text).replace("</", "<\\/")


def graphiql_html(query: str, variables: str) -> str:
    """Strawberry's GraphiQL page with `query` and `variables` as the defaults."""
    page = get_graphql_ide_html("graphiql")
    if _QUERY_MARKER not in page or _VARIABLES_MARKER not in page:
        return page
    page = page.replace(_QUERY_MARKER, f"parameters.q || {_js_string(query)}", 1)
    return page.replace(_VARIABLES_MARKER, f"parameters.variables || {_js_string(variables)},", 1)
