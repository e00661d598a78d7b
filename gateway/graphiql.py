"""GraphiQL under a strict Content-Security-Policy, with its assets served by the gateway.

The page has no inline script or style: GraphiQL's npm files (pinned in
`gateway.graphiql_pins`, fetched at build time by `gateway.tools.graphiql_assets`, which the
server never imports) and our own `gateway-graphiql.js/.css` are served from
`/graphql/static/`, and the prefilled operation, variables and headers travel in a
`data-config` attribute. When the npm files are absent the same page loads them from the
CDN (pinned by integrity hashes), and a warning says so once at start-up.
"""

from __future__ import annotations

import html
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

from gateway.graphiql_pins import ASSETS, PACKAGE_DIR, find_assets

__all__ = ["STATIC_PATH", "GraphiQL", "local_csp"]

STATIC_PATH: Final = "/graphql/static"
_OWN_DIR: Final = Path(__file__).resolve().parent / "static"
#: Ours, committed beside the fetched folder: the bootstrap script and the page's layout.
_OWN: Final = {
    "gateway-graphiql.js": "text/javascript",
    "gateway-graphiql.css": "text/css",
}
_VENDOR: Final = {asset.name: asset.media_type for asset in ASSETS}
_IMMUTABLE: Final = "public, max-age=31536000, immutable"  # names carry pinned versions
_REVALIDATE: Final = "no-cache"  # ours change with the gateway's version

_log = logging.getLogger("gateway.graphiql")


def _csp(origins: str) -> str:
    extra = f" {origins}" if origins else ""
    return (
        "default-src 'none'; "
        f"script-src 'self'{extra}; "
        f"style-src 'self'{extra}; "
        "font-src data:; "  # GraphiQL's CSS embeds its fonts
        "img-src 'self' data:; "
        "connect-src 'self'; "
        "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )


def local_csp() -> str:
    """The page's policy when the gateway serves every asset: nothing but its own origin."""
    return _csp("")


@dataclass(frozen=True, slots=True)
class GraphiQL:
    """The page and its assets; `local` is False when the npm files were not found."""

    html: str
    csp: str
    local: bool
    assets_dir: Path

    @classmethod
    def build(
        cls, query: str, variables: str, headers: str, assets_dir: Path | None = None
    ) -> GraphiQL:
        """The page prefilled with an operation, its variables and the headers editor."""
        found, problems = find_assets(assets_dir)
        local = found is not None
        if found is None:
            _log.warning(
                "GraphiQL is loading React and GraphiQL from unpkg.com (needs internet access): "
                "%s; run `python -m gateway fetch-graphiql` once to serve them from the gateway",
                "; ".join(problems),
            )
        directory = found if found is not None else (assets_dir or PACKAGE_DIR)
        config = {"query": query, "variables": variables, "headers": headers}
        page = _page(config, local=local)
        return cls(page, local_csp() if local else _csp("https://unpkg.com"), local, directory)

    def page(self) -> Response:
        """GraphiQL, for browsers that GET /graphql without a query."""
        return HTMLResponse(
            self.html,
            headers={
                "content-security-policy": self.csp,
                "x-content-type-options": "nosniff",
                "referrer-policy": "no-referrer",
                "cache-control": _REVALIDATE,
            },
        )

    async def asset(self, request: Request) -> Response:
        """One of the page's files (a fixed list: no path from the client is ever opened)."""
        name = request.path_params["name"]
        if name in _OWN:
            path, media_type, cache = _OWN_DIR / name, _OWN[name], _REVALIDATE
        elif name in _VENDOR and self.local:
            path, media_type, cache = self.assets_dir / name, _VENDOR[name], _IMMUTABLE
        else:
            return Response("Not Found", status_code=404, media_type="text/plain")
        return FileResponse(
            path,
            media_type=f"{media_type}; charset=utf-8",
            headers={"cache-control": cache, "x-content-type-options": "nosniff"},
        )


def _page(config: dict[str, str], *, local: bool) -> str:
    styles, scripts = [], []
    for asset in ASSETS:
        if local:
            url, cors = f"{STATIC_PATH}/{asset.name}", ""
        else:
            url, cors = asset.cdn_url, ' crossorigin="anonymous"'
        attributes = f'integrity="{asset.sri}"{cors}'
        if asset.media_type == "text/css":
            styles.append(f'<link rel="stylesheet" href="{url}" {attributes}>')
        else:
            scripts.append(f'<script src="{url}" {attributes}></script>')
    data = html.escape(json.dumps(config), quote=True)
    lines = [
        "<!doctype html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>GraphiQL · medusa-graphql-gateway</title>",
        '<link rel="icon" href="data:,">',
        *styles,
        f'<link rel="stylesheet" href="{STATIC_PATH}/gateway-graphiql.css">',
        "</head>",
        "<body>",
        f'<div id="graphiql" data-config="{data}">Loading GraphiQL…</div>',
        *scripts,
        f'<script src="{STATIC_PATH}/gateway-graphiql.js"></script>',
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(lines)
