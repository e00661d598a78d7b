"""GraphiQL in a real headless Chromium, offline, against the gateway on the embedded sandbox.

Every request that does not go to a loopback address is blocked, so the page only works if
the gateway serves all of it (the npm files `python -m gateway fetch-graphiql` fetched, done
by .ci/run). It must run under its strict CSP without a violation, come prefilled with the
example mutation and the sandbox's publishable key, and show Medusa's answer after Run. A
screenshot is kept in artifacts/ (gitignored; CI keeps it). Needs the system's Chromium
(`apt-get install chromium`, done by .ci/run); skipped without it or without the assets,
except in CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import uvicorn

from gateway.app import create_app
from gateway.config import Settings
from gateway.graphiql_assets import DEFAULT_DIR, AssetsProblem, check

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(os.environ.get("ARTIFACTS_DIR", Path(__file__).parents[1] / "artifacts"))
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def assets_missing() -> str | None:
    try:
        check(DEFAULT_DIR)
    except AssetsProblem as problem:
        return str(problem)
    return None


# In CI (.ci/run installs Chromium and fetches the files) a missing piece fails, never skips.
IN_CI = os.environ.get("CI") == "true"
pytestmark = [
    pytest.mark.skipif(
        CHROMIUM is None and not IN_CI, reason="no system Chromium (apt install chromium)"
    ),
    pytest.mark.skipif(
        assets_missing() is not None and not IN_CI,
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


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = create_app(Settings(port=port))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=5)


def test_the_example_mutation_runs_in_graphiql_offline(server_url: str) -> None:
    from playwright.sync_api import Route, sync_playwright

    blocked: list[str] = []
    console_errors: list[str] = []

    def loopback_only(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort("internetdisconnected")

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.route("**/*", loopback_only)
            context.add_init_script(CSP_WATCH)
            page = context.new_page()
            page.on(
                "console",
                lambda message: (
                    console_errors.append(message.text) if message.type == "error" else None
                ),
            )
            response = page.goto(f"{server_url}/graphql", wait_until="networkidle")
            assert response is not None
            assert "script-src 'self';" in response.headers["content-security-policy"]
            page.wait_for_selector(".graphiql-execute-button", timeout=15_000)
            assert "createPaymentSession" in page.inner_text(".graphiql-query-editor")
            page.click(".graphiql-editor-tools button:has-text('Headers')")
            headers = page.inner_text(".graphiql-editor-tool")
            assert "x-publishable-api-key" in headers
            assert "pk_" in headers  # the sandbox's demo key, so Run works as it is
            page.click(".graphiql-editor-tools button:has-text('Variables')")
            page.click(".graphiql-execute-button")
            page.wait_for_function(
                "() => document.querySelector('.result-window')"
                " && document.querySelector('.result-window').innerText.includes('PENDING')",
                timeout=15_000,
            )
            result = page.inner_text(".result-window")
            violations = page.evaluate("window.cspViolations")
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=ARTIFACTS / "graphiql.png")
        finally:
            browser.close()
    assert '"createPaymentSession"' in result
    assert '"currencyCode": "usd"' in result
    assert '"paymentSession"' in result
    assert "errors" not in result
    assert blocked == []  # nothing wanted from a CDN: it works offline
    assert violations == []  # the strict CSP held: no inline script or style was needed
    assert [text for text in console_errors if "Content Security Policy" in text] == []
