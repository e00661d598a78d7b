"""GraphiQL's pinned npm files, fetched at build time and verified (never on the request path).

Stdlib only, so the Dockerfile's first stage runs it before any dependency is installed
(`python -m gateway.tools.graphiql_assets DIR`); `python -m gateway fetch-graphiql` is the same.
Each npm tarball is checked against its pinned `dist.integrity` (sha512) and each file taken
from it against the sha384 the page's `integrity` attribute carries. Nothing is committed. The
pins and where the files are looked for (`find_assets`) are data in `gateway.graphiql_pins`,
which the server imports instead of this module.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tarfile
import tempfile
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Final

from gateway.graphiql_pins import ASSETS, PACKAGES, AssetsProblem, digest, fetch_dir

__all__ = ["DEFAULT_REGISTRY", "Download", "add_arguments", "fetch", "main", "run"]

DEFAULT_REGISTRY: Final = "https://registry.npmjs.org"
_TIMEOUT: Final = 60.0

Download = Callable[[str], bytes]


def _download(url: str) -> bytes:
    # Honours HTTP(S)_PROXY like npm does; the integrity check makes any mirror safe.
    with urllib.request.urlopen(url, timeout=_TIMEOUT) as response:  # noqa: S310  # https URL from our pins or --registry
        content: bytes = response.read()
        return content


def _unpack(tarball: bytes, member: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
        # Only named regular files are read, never extracted: no path from the archive is used.
        try:
            found = archive.extractfile(f"package/{member}")
        except KeyError:
            found = None
        if found is None:
            msg = f"package/{member} is not a file in the tarball"
            raise AssetsProblem(msg)
        return found.read()


def _write(path: Path, content: bytes) -> None:
    """Write atomically: a reader never sees half a file, an interrupted fetch leaves none."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".fetch-", delete=False) as temp:
        temp.write(content)
    Path(temp.name).chmod(0o644)
    Path(temp.name).replace(path)


def fetch(
    directory: Path,
    *,
    registry: str = DEFAULT_REGISTRY,
    download: Download | None = None,
) -> list[Path]:
    """Download the pinned tarballs, verify them, write the page's files into `directory`."""
    download = download or _download
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for package in PACKAGES:
        url = package.tarball_url(registry)
        try:
            tarball = download(url)
        except OSError as error:
            msg = f"cannot download {url}: {error}"
            raise AssetsProblem(msg) from None
        if digest("sha512", tarball) != package.integrity:
            msg = f"{url} does not match the pinned integrity {package.integrity}"
            raise AssetsProblem(msg)
        for asset in (asset for asset in ASSETS if asset.package == package):
            content = _unpack(tarball, asset.path)
            if digest("sha384", content) != asset.sri:
                msg = f"{package.name}@{package.version}/{asset.path} does not match {asset.sri}"
                raise AssetsProblem(msg)
            target = directory / asset.name
            _write(target, content)
            written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m gateway.tools.graphiql_assets [DIR] [--registry URL]`; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="fetch-graphiql",
        description="Download GraphiQL's pinned npm files so the gateway serves them itself.",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    return run(args.dir, args.registry)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The command's arguments (shared with `python -m gateway fetch-graphiql`)."""
    parser.add_argument(
        "dir",
        nargs="?",
        type=Path,
        default=fetch_dir(),
        help="where to write them (env GATEWAY_GRAPHIQL_ASSETS_DIR; default: the user cache "
        "folder, %(default)s, where the gateway finds them from any working directory)",
    )
    parser.add_argument(
        "--registry",
        default=os.environ.get("NPM_CONFIG_REGISTRY") or DEFAULT_REGISTRY,
        help="npm registry or mirror (env NPM_CONFIG_REGISTRY, as npm; default: %(default)s)",
    )


def run(directory: Path, registry: str) -> int:
    """Fetch into `directory`, reporting on stderr; 0 on success, 1 on failure."""
    try:
        written = fetch(directory, registry=registry)
    except AssetsProblem as problem:
        print(f"fetch-graphiql: {problem}", file=sys.stderr)  # noqa: T201  # a build step's report
        return 1
    print(f"fetch-graphiql: {len(written)} verified files in {directory}", file=sys.stderr)  # noqa: T201
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
