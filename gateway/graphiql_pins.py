r"""GraphiQL's pinned npm files as data, and where the gateway finds them at start-up.

Shared by the page (`gateway.graphiql`, on the request path) and the build-time fetcher
(`gateway.tools.graphiql_assets`), so the server never imports the downloader. Stdlib only:
the Dockerfile's first stage runs the fetcher with this module, `gateway/__init__.py` and
`gateway/tools/` copied into a bare Python image.

Where the files live, found whatever the working directory (`find_assets`):
1. GATEWAY_GRAPHIQL_ASSETS_DIR when set (then only there);
2. the package's own `gateway/static/graphiql/` (the image copies them there at build time);
3. the user's cache directory, `$XDG_CACHE_HOME/medusa-graphql-gateway/graphiql` (by default
   `~/.cache/...`; `~/Library/Caches/...` on macOS, `%LOCALAPPDATA%\...` on Windows), which is
   where `python -m gateway fetch-graphiql` writes them: an installed package's folder may not
   be writable, and a repository-relative path only works from the repository.
"""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = [
    "ASSETS",
    "PACKAGES",
    "PACKAGE_DIR",
    "Asset",
    "AssetsProblem",
    "Package",
    "check",
    "digest",
    "fetch_dir",
    "find_assets",
    "user_cache_dir",
]

#: `gateway/static/graphiql/`: beside the gateway's own GraphiQL files (the image puts them here).
PACKAGE_DIR: Final = Path(__file__).resolve().parent / "static" / "graphiql"
_APP_NAME: Final = "medusa-graphql-gateway"
_ENV_DIR: Final = "GATEWAY_GRAPHIQL_ASSETS_DIR"
_CDN: Final = "https://unpkg.com"


@dataclass(frozen=True, slots=True)
class Package:
    """One npm tarball, pinned by version and by its registry `dist.integrity`."""

    name: str
    version: str
    integrity: str  # sha512-<base64>, as `npm view NAME@VERSION dist.integrity` prints it

    def tarball_url(self, registry: str) -> str:
        """The registry's tarball URL (`@scope/name` -> `@scope/name/-/name-1.0.0.tgz`)."""
        basename = self.name.rsplit("/", 1)[-1]
        return f"{registry.rstrip('/')}/{self.name}/-/{basename}-{self.version}.tgz"


@dataclass(frozen=True, slots=True)
class Asset:
    """One file the page loads: where it is in its package, and the hash the page pins."""

    name: str  # served as /graphql/static/<name>
    package: Package
    path: str  # inside the package
    sri: str  # sha384-<base64>: the page's integrity attribute and our check after fetching

    @property
    def media_type(self) -> str:
        """What the gateway serves it as."""
        return "text/css" if self.name.endswith(".css") else "text/javascript"

    @property
    def cdn_url(self) -> str:
        """The same file on the CDN, used by the fallback page."""
        return f"{_CDN}/{self.package.name}@{self.package.version}/{self.path}"


_REACT: Final = Package(
    "react",
    "18.2.0",
    "sha512-/3IjMdb2L9QbBdWiW5e3P2/npwMBaU9mHCSCUzNln0ZCYbcfTsGbTJrU/kGemdH2IWmB2ioZ+zkxtmq6g09fGQ==",
)
_REACT_DOM: Final = Package(
    "react-dom",
    "18.2.0",
    "sha512-6IMTriUmvsjHUjNtEDudZfuDQUoWXVxKHhlEGSk81n4YFS+r/Kl99wXiwlVXtPBtJenozv2P+hxDsw9eA7Xo6g==",
)
_GRAPHIQL: Final = Package(
    "graphiql",
    "3.8.3",
    "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
)
_EXPLORER: Final = Package(
    "@graphiql/plugin-explorer",
    "1.0.2",
    "sha512-9j+kg2UjtLZD5EBmGjeWHkoVVxtbShYg2DzbUVebibnZYZM/iMBEF4vaccXJIAm5KaomIPLx0aoNs4LbODyc3Q==",
)
PACKAGES: Final = (_REACT, _REACT_DOM, _GRAPHIQL, _EXPLORER)

#: In the order the page loads them (styles, then scripts: React before what needs it).
ASSETS: Final = (
    Asset(
        "graphiql.min.css",
        _GRAPHIQL,
        "graphiql.min.css",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    ),
    Asset(
        "plugin-explorer.css",
        _EXPLORER,
        "dist/style.css",
        "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi",
    ),
    Asset(
        "react.production.min.js",
        _REACT,
        "umd/react.production.min.js",
        "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
    ),
    Asset(
        "react-dom.production.min.js",
        _REACT_DOM,
        "umd/react-dom.production.min.js",
        "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
    ),
    Asset(
        "graphiql.min.js",
        _GRAPHIQL,
        "graphiql.min.js",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    ),
    Asset(
        "plugin-explorer.umd.js",
        _EXPLORER,
        "dist/index.umd.js",
        "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9",
    ),
)


class AssetsProblem(Exception):
    """The assets cannot be fetched, or the folder does not hold the pinned files."""


def digest(algorithm: str, content: bytes) -> str:
    """`<algorithm>-<base64>`, the form of npm's `dist.integrity` and of SRI attributes."""
    raw = hashlib.new(algorithm, content).digest()
    return f"{algorithm}-{base64.b64encode(raw).decode()}"


def check(directory: Path) -> None:
    """Raise `AssetsProblem` unless `directory` holds every pinned file, byte for byte."""
    for asset in ASSETS:
        path = directory / asset.name
        try:
            content = path.read_bytes()
        except OSError:
            msg = f"{path} is missing"
            raise AssetsProblem(msg) from None
        if digest("sha384", content) != asset.sri:
            msg = f"{path} does not match its pinned hash"
            raise AssetsProblem(msg)


def user_cache_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The per-user cache folder for the files, as platformdirs would name it."""
    env = os.environ if environ is None else environ
    if sys.platform == "win32":
        base = Path(env.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / _APP_NAME / "Cache" / "graphiql"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / _APP_NAME / "graphiql"
    xdg = env.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / _APP_NAME / "graphiql"


def fetch_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where `fetch-graphiql` writes by default: GATEWAY_GRAPHIQL_ASSETS_DIR, else the cache."""
    env = os.environ if environ is None else environ
    explicit = env.get(_ENV_DIR)
    return Path(explicit) if explicit else user_cache_dir(env)


def find_assets(
    explicit: Path | None = None, environ: Mapping[str, str] | None = None
) -> tuple[Path | None, list[str]]:
    """The folder holding every pinned file, or None and why each candidate was refused.

    `explicit` (the GATEWAY_GRAPHIQL_ASSETS_DIR setting) is the only candidate when given;
    otherwise the package's folder, then the user's cache folder.
    """
    candidates = [explicit] if explicit is not None else [PACKAGE_DIR, user_cache_dir(environ)]
    problems = []
    for directory in candidates:
        try:
            check(directory)
        except AssetsProblem as problem:
            problems.append(str(problem))
        else:
            return directory, problems
    return None, problems
