from __future__ import annotations

import base64
import hashlib
import io
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest

from gateway import cli, graphiql_pins
from gateway.graphiql_pins import Asset, AssetsProblem, Package, check
from gateway.tools import graphiql_assets
from gateway.tools.graphiql_assets import fetch

ROOT = Path(__file__).parents[1]

REGISTRY = "https://registry.test"


def sri(algorithm: str, content: bytes) -> str:
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, content).digest()).decode()}"


def tarball(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, content in files.items():
            info = tarfile.TarInfo(f"package/{name}")
            info.size = len(content)
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


LIB_JS = b"window.Lib = {};"
LIB_TGZ = tarball({"umd/lib.min.js": LIB_JS, "README.md": b"hi"})
LIB = Package("@scope/lib", "1.2.3", sri("sha512", LIB_TGZ))
LIB_ASSET = Asset("lib.min.js", LIB, "umd/lib.min.js", sri("sha384", LIB_JS))


@pytest.fixture
def pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in (graphiql_pins, graphiql_assets):
        monkeypatch.setattr(module, "PACKAGES", (LIB,))
        monkeypatch.setattr(module, "ASSETS", (LIB_ASSET,))


def registry(answers: dict[str, bytes]) -> graphiql_assets.Download:
    def download(url: str) -> bytes:
        if url not in answers:
            raise OSError(f"HTTP Error 404 for {url}")
        return answers[url]

    return download


LIB_URL = f"{REGISTRY}/@scope/lib/-/lib-1.2.3.tgz"


def test_the_tarball_url_follows_the_registry_layout() -> None:
    assert LIB.tarball_url(REGISTRY + "/") == LIB_URL
    assert Package("react", "18.2.0", "").tarball_url("https://registry.npmjs.org") == (
        "https://registry.npmjs.org/react/-/react-18.2.0.tgz"
    )


@pytest.mark.usefixtures("pinned")
def test_fetch_writes_only_the_verified_files(tmp_path: Path) -> None:
    target = tmp_path / "assets"
    written = fetch(target, registry=REGISTRY, download=registry({LIB_URL: LIB_TGZ}))
    assert written == [target / "lib.min.js"]
    assert (target / "lib.min.js").read_bytes() == LIB_JS
    assert sorted(path.name for path in target.iterdir()) == ["lib.min.js"]
    check(target)


@pytest.mark.usefixtures("pinned")
def test_a_tarball_not_matching_its_integrity_is_refused(tmp_path: Path) -> None:
    tampered = tarball({"umd/lib.min.js": b"evil()"})
    with pytest.raises(AssetsProblem, match="does not match the pinned integrity"):
        fetch(tmp_path, registry=REGISTRY, download=registry({LIB_URL: tampered}))
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("asset", "problem"),
    [
        # The file is in the tarball, but not what the page's integrity attribute pins.
        (
            Asset("lib.min.js", LIB, "umd/lib.min.js", sri("sha384", b"other")),
            r"@scope/lib@1.2.3/umd/lib.min.js does not match",
        ),
        # The pinned path is not in the tarball at all.
        (Asset("x.js", LIB, "dist/x.js", sri("sha384", b"")), r"package/dist/x.js is not a file"),
    ],
)
def test_a_file_not_as_pinned_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, asset: Asset, problem: str
) -> None:
    monkeypatch.setattr(graphiql_assets, "PACKAGES", (LIB,))
    monkeypatch.setattr(graphiql_assets, "ASSETS", (asset,))
    with pytest.raises(AssetsProblem, match=problem):
        fetch(tmp_path, registry=REGISTRY, download=registry({LIB_URL: LIB_TGZ}))


@pytest.mark.usefixtures("pinned")
def test_an_unreachable_registry_is_reported_with_the_url(tmp_path: Path) -> None:
    with pytest.raises(AssetsProblem, match=r"cannot download https://registry.test/@scope"):
        fetch(tmp_path, registry=REGISTRY, download=registry({}))


@pytest.mark.usefixtures("pinned")
def test_check_names_a_missing_or_altered_file(tmp_path: Path) -> None:
    with pytest.raises(AssetsProblem, match=r"lib.min.js is missing"):
        check(tmp_path)
    (tmp_path / "lib.min.js").write_bytes(b"altered")
    with pytest.raises(AssetsProblem, match="does not match its pinned hash"):
        check(tmp_path)


def test_the_pins_cover_every_asset() -> None:
    packages = set(graphiql_pins.PACKAGES)
    assert {asset.package for asset in graphiql_pins.ASSETS} == packages
    assert all(package.integrity.startswith("sha512-") for package in packages)
    assert all(asset.sri.startswith("sha384-") for asset in graphiql_pins.ASSETS)


@pytest.mark.usefixtures("pinned")
def test_the_command_fetches_into_the_given_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(graphiql_assets, "_download", registry({LIB_URL: LIB_TGZ}))
    assert cli.main(["fetch-graphiql", str(tmp_path), "--registry", REGISTRY]) == 0
    assert "1 verified files" in capsys.readouterr().err
    assert (tmp_path / "lib.min.js").exists()


@pytest.mark.usefixtures("pinned")
def test_the_command_fails_clearly_when_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(graphiql_assets, "_download", registry({}))
    monkeypatch.setenv("NPM_CONFIG_REGISTRY", REGISTRY)
    assert graphiql_assets.main([str(tmp_path)]) == 1
    assert "fetch-graphiql: cannot download https://registry.test/" in capsys.readouterr().err


@pytest.mark.usefixtures("pinned")
def test_the_default_download_reads_a_registry_url(tmp_path: Path) -> None:
    # A file:// registry (a local mirror) runs the real urllib path without a network.
    mirror = tmp_path / "mirror" / "@scope" / "lib" / "-"
    mirror.mkdir(parents=True)
    (mirror / "lib-1.2.3.tgz").write_bytes(LIB_TGZ)
    target = tmp_path / "assets"
    fetch(target, registry=(tmp_path / "mirror").as_uri())
    check(target)


def first_stage_copies() -> list[str]:
    """The sources the Dockerfile's GraphiQL stage copies (`COPY <src> [<src>...] <dest>`)."""
    stage = (ROOT / "Dockerfile").read_text().split("\nFROM ")[1]
    lines = [line.split()[1:-1] for line in stage.splitlines() if line.startswith("COPY ")]
    return [source for line in lines for source in line]


def test_the_dockerfile_stage_needs_only_the_files_it_copies_and_the_stdlib(
    tmp_path: Path,
) -> None:
    # Exactly what the Dockerfile's first stage copies into a bare python image; `-S` keeps
    # site-packages (httpx, pydantic...) out of reach here too.
    copies = first_stage_copies()
    assert "gateway/tools" in copies
    for source in copies:
        if (ROOT / source).is_dir():
            (tmp_path / source).mkdir(parents=True)
            for path in (ROOT / source).glob("*.py"):
                (tmp_path / source / path.name).write_bytes(path.read_bytes())
        else:
            (tmp_path / source).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / source).write_bytes((ROOT / source).read_bytes())
    result = subprocess.run(
        [sys.executable, "-S", "-m", "gateway.tools.graphiql_assets", "--help"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "--registry" in result.stdout


# ---- found from anywhere (issue 17.5) ---------------------------------------------------------


def test_the_user_cache_folder_follows_xdg(tmp_path: Path) -> None:
    environ = {"XDG_CACHE_HOME": str(tmp_path)}
    if sys.platform.startswith("linux"):
        expected = tmp_path / "medusa-graphql-gateway" / "graphiql"
        assert graphiql_pins.user_cache_dir(environ) == expected
        assert graphiql_pins.user_cache_dir({"XDG_CACHE_HOME": "relative"}) == (
            Path.home() / ".cache" / "medusa-graphql-gateway" / "graphiql"
        )
    assert graphiql_pins.fetch_dir(environ) == graphiql_pins.user_cache_dir(environ)
    explicit = {"GATEWAY_GRAPHIQL_ASSETS_DIR": str(tmp_path / "x"), **environ}
    assert graphiql_pins.fetch_dir(explicit) == tmp_path / "x"


@pytest.mark.usefixtures("pinned")
def test_fetched_without_a_folder_they_are_served_from_any_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from gateway.graphiql import GraphiQL

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("GATEWAY_GRAPHIQL_ASSETS_DIR", raising=False)
    monkeypatch.setattr(graphiql_pins, "PACKAGE_DIR", tmp_path / "not-in-the-package")
    monkeypatch.setattr(graphiql_assets, "_download", registry({LIB_URL: LIB_TGZ}))
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    assert cli.main(["fetch-graphiql", "--registry", REGISTRY]) == 0
    cached = tmp_path / "cache" / "medusa-graphql-gateway" / "graphiql"
    assert str(cached) in capsys.readouterr().err
    page = GraphiQL.build("{ __typename }", "{}", "{}")
    assert page.local
    assert page.assets_dir == cached


@pytest.mark.usefixtures("pinned")
def test_the_packages_own_folder_wins_over_the_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package, cache = tmp_path / "package", tmp_path / "cache"
    for folder in (package, cache / "medusa-graphql-gateway" / "graphiql"):
        folder.mkdir(parents=True)
        (folder / "lib.min.js").write_bytes(LIB_JS)
    monkeypatch.setattr(graphiql_pins, "PACKAGE_DIR", package)
    assert graphiql_pins.find_assets(environ={"XDG_CACHE_HOME": str(cache)})[0] == package


def test_the_package_folder_is_where_the_image_copies_the_files() -> None:
    dockerfile = (Path(__file__).parents[1] / "Dockerfile").read_text()
    assert graphiql_pins.PACKAGE_DIR.parent.name == "static"
    assert graphiql_pins.PACKAGE_DIR.parent.parent.name == "gateway"
    assert "./gateway/static/graphiql" in dockerfile
