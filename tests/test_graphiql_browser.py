"""GraphiQL in a real headless Chromium, offline, against the gateway on the embedded sandbox.

Every request that does not go to a loopback address is blocked, so the page only works if
the gateway serves all of it (the npm files `python -m gateway fetch-graphiql` fetched, done
by .ci/run). It must run under its strict CSP without a violation, come prefilled with the
example mutation and the sandbox's publishable key, and show Medusa's answer after Run. The
CDN fallback page is run the same way, its CDN answered by the browser with the same files.
Screenshots are kept in artifacts/ (gitignored; CI keeps them). Needs the system's Chromium
(`apt-get install chromium`, done by .ci/run); skipped without it or without the assets,
except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import Route

from gateway.app import create_app
from gateway.config import Settings
from gateway.graphiql_pins import ASSETS, PACKAGE_DIR, find_assets
from tests.ci import unless_present
from tests.serving import free_port
from tests.serving import serving as serving_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", Path(__file__).parents[1] / "artifacts"))
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def assets_missing() -> str | None:
    found, problems = find_assets()
    return None if found is not None else "; ".join(problems)


FETCHED = find_assets()[0] or PACKAGE_DIR  # where `python -m gateway fetch-graphiql` put them


# In CI (.ci/run installs Chromium and fetches the files) a missing piece fails, never skips.
pytestmark = [
    unless_present(CHROMIUM is None, reason="no system Chromium (apt install chromium)"),
    unless_present(
        assets_missing() is not None,
        reason="GraphiQL's npm files are not fetched (python -m gateway fetch-graphiql)",
    ),
]
#: Injected by the DevTools protocol (not subject to the page's CSP): records every violation.
CSP_WATCH = (
    "window.cspViolations = [];"
    "document.addEventListener('securitypolicyviolation', (e) =>"
    " window.cspViolations.push(e.violatedDirective + ' ' + e.blockedURI));"
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def serving(settings: Settings) -> Iterator[str]:
    """The gateway on the embedded sandbox, on a free loopback port, in a thread."""
    port = free_port()
    with serving_app(create_app(settings.model_copy(update={"port": port})), port) as url:
        yield url


@dataclass
class Run:
    """What the browser saw when the example ran."""

    csp: str
    headers_editor: str
    result: str
    violations: list[str]
    console_errors: list[str]


def run_the_example(url: str, route: Callable[[Route], None], screenshot: str) -> Run:
    """Open GraphiQL, read the headers editor, press Run, wait for the sandbox's answer.

    The screenshot is taken whatever happens, so a failure in CI leaves its picture.
    """
    from playwright.sync_api import sync_playwright

    console_errors: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.route("**/*", route)
            context.add_init_script(CSP_WATCH)
            page = context.new_page()
            page.on(
                "console",
                lambda message: (
                    console_errors.append(message.text) if message.type == "error" else None
                ),
            )
            try:
                response = page.goto(f"{url}/graphql", wait_until="networkidle")
                assert response is not None
                page.wait_for_selector(".graphiql-execute-button", timeout=15_000)
                assert "createPaymentSession" in page.inner_text(".graphiql-query-editor")
                page.click(".graphiql-editor-tools button:has-text('Headers')")
                headers_editor = page.inner_text(".graphiql-editor-tool")
                page.click(".graphiql-editor-tools button:has-text('Variables')")
                page.click(".graphiql-execute-button")
                page.wait_for_function(
                    "() => document.querySelector('.result-window')"
                    " && document.querySelector('.result-window').innerText.includes('PENDING')",
                    timeout=15_000,
                )
                return Run(
                    csp=response.headers["content-security-policy"],
                    headers_editor=headers_editor,
                    result=page.inner_text(".result-window"),
                    violations=page.evaluate("window.cspViolations"),
                    console_errors=console_errors,
                )
            finally:
                ARTIFACTS.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=ARTIFACTS / screenshot)
        finally:
            browser.close()


def assert_the_example_ran(run: Run) -> None:
    assert "x-publishable-api-key" in run.headers_editor
    assert "pk_sandbox_" in run.headers_editor  # the sandbox's demo key: Run works as it is
    assert '"createPaymentSession"' in run.result
    assert '"currencyCode": "usd"' in run.result
    assert '"paymentSession"' in run.result
    assert "errors" not in run.result
    assert run.violations == []  # the CSP held: no inline script or style was needed
    assert [text for text in run.console_errors if "Content Security Policy" in text] == []


def test_the_example_mutation_runs_in_graphiql_offline() -> None:
    blocked: list[str] = []

    def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    with serving(Settings()) as url:
        run = run_the_example(url, loopback_only, "graphiql.png")
    assert_the_example_ran(run)
    assert run.csp.startswith("default-src 'none'; script-src 'self'; style-src 'self';")
    assert blocked == []  # nothing wanted from a CDN: it works offline


def test_without_the_files_the_cdn_page_works_under_its_csp(tmp_path: Path) -> None:
    # No internet here: the CDN's answers are the same verified files, so the page's pinned
    # integrity hashes, crossorigin attributes and CSP are what is really checked.
    cdn = {asset.cdn_url: FETCHED / asset.name for asset in ASSETS}
    asked: list[str] = []

    def loopback_or_cdn(route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname in LOOPBACK:
            route.continue_()
        elif url in cdn:
            asked.append(url)
            route.fulfill(
                path=cdn[url],
                headers={"access-control-allow-origin": "*"},
                content_type="text/css" if url.endswith(".css") else "text/javascript",
            )
        else:
            route.abort("internetdisconnected")

    with serving(Settings(graphiql_assets_dir=tmp_path)) as url:
        run = run_the_example(url, loopback_or_cdn, "graphiql-cdn.png")
    assert_the_example_ran(run)
    assert "script-src 'self' https://unpkg.com;" in run.csp
    assert sorted(asked) == sorted(cdn)
