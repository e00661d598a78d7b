"""GraphiQL, prefilled with the example mutation and served without any CDN.

Strawberry ships the page; we swap its welcome text for our example operation and point its
seven unpkg.com assets at copies served by the gateway (`gateway/static/graphiql/`, same
bytes, so the page's integrity hashes still hold): GraphiQL works with no internet access.
If a future Strawberry changes the page so a marker is gone, that part is left unchanged.
"""

from __future__ import annotations

import json
from importlib.resources import files
from typing import Final

from starlette.requests import Request
from starlette.responses import Response
from strawberry.http.ides import get_graphql_ide_html

__all__ = ["STATIC_PATH", "graphiql_asset", "graphiql_html"]

STATIC_PATH: Final = "/graphql/static"

#: unpkg URL in Strawberry's page -> (our file name, media type)
_ASSETS: Final = {
    "https://unpkg.com/react@18.2.0/umd/react.production.min.js": (
        "react.production.min.js",
        "text/javascript",
    ),
    "https://unpkg.com/react-dom@18.2.0/umd/react-dom.production.min.js": (
        "react-dom.production.min.js",
        "text/javascript",
    ),
    "https://unpkg.com/js-cookie@3.0.5/dist/js.cookie.min.js": (
        "js.cookie.min.js",
        "text/javascript",
    ),
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.css": ("graphiql.min.css", "text/css"),
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/style.css": (
        "plugin-explorer.css",
        "text/css",
    ),
    "https://unpkg.com/graphiql@3.8.3/graphiql.min.js": ("graphiql.min.js", "text/javascript"),
    "https://unpkg.com/@graphiql/plugin-explorer@1.0.2/dist/index.umd.js": (
        "plugin-explorer.umd.js",
        "text/javascript",
    ),
}
_MEDIA_TYPES: Final = dict(_ASSETS.values())

_QUERY_MARKER: Final = "parameters.q || EXAMPLE_QUERY"
_VARIABLES_MARKER: Final = "parameters.variables,"


def _js_string(text: str) -> str:
    # JSON is valid JavaScript; "</" is escaped so the string cannot close the <script>.
    return json.dumps(text).replace("</", "<\\/")


def graphiql_html(query: str, variables: str) -> str:
    """Strawberry's GraphiQL page: our defaults, our copies of its assets."""
    page = get_graphql_ide_html("graphiql")
    page = page.replace(_QUERY_MARKER, f"parameters.q || {_js_string(query)}", 1)
    page = page.replace(_VARIABLES_MARKER, f"parameters.variables || {_js_string(variables)},", 1)
    for url, (name, _) in _ASSETS.items():
        page = page.replace(url, f"{STATIC_PATH}/{name}")
    return page


async def graphiql_asset(request: Request) -> Response:
    """One of the vendored GraphiQL files (a fixed list: no path from the client is opened)."""
    name = request.path_params["name"]
    media_type = _MEDIA_TYPES.get(name)
    if media_type is None:
        return Response("Not Found", status_code=404, media_type="text/plain")
    content = files("gateway").joinpath("static", "graphiql", name).read_bytes()
    return Response(
        content,
        media_type=f"{media_type}; charset=utf-8",
        headers={"cache-control": "public, max-age=31536000, immutable"},
    )
