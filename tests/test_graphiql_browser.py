"""GraphiQL in a real headless Chromium, against the gateway on the embedded sandbox.

The page must load with no internet access (assets served by the gateway), come prefilled
with the example mutation, and show Medusa's answer when the user presses Run. Needs the
system's Chromium (`apt-get install chromium`, done by .ci/run); skipped without it.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import uvicorn

from gateway.app import create_app
from gateway.config import Settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no system Chromium (apt install chromium)"
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


def test_the_example_mutation_runs_in_graphiql(server_url: str) -> None:
    from playwright.sync_api import sync_playwright

    outside: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page()
            page.on(
                "request",
                lambda request: (
                    outside.append(request.url) if not request.url.startswith(server_url) else None
                ),
            )
            page.goto(f"{server_url}/graphql", wait_until="networkidle")
            page.wait_for_selector(".graphiql-execute-button", timeout=15_000)
            assert "createPaymentSession" in page.inner_text(".graphiql-query-editor")
            page.click(".graphiql-execute-button")
            page.wait_for_function(
                "() => document.querySelector('.result-window')"
                " && document.querySelector('.result-window').innerText.includes('PENDING')",
                timeout=15_000,
            )
            result = page.inner_text(".result-window")
        finally:
            browser.close()
    assert '"createPaymentSession"' in result
    assert '"currencyCode": "usd"' in result
    assert "errors" not in result
    assert outside == []  # nothing fetched from a CDN: works offline
