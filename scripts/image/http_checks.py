"""What scripts/image/test.sh asks a gateway running inside the image, over real HTTP.

`python3 http_checks.py BASE_URL LOG_FILE VERSION`: waits for /healthz, then checks /healthz
(status and release), /readyz, GraphiQL's bundled files, and the sandbox's
`createPaymentSession` with the demo collection announced in LOG_FILE. Prints one line per
check; exits 1 if any failed. `http_checks.py --up BASE_URL`: exit 0 if a gateway answers
/healthz there now. Standard library only: it runs on the CI host's python3, not the venv.
"""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

MUTATION = """
mutation Pay($input: CreatePaymentSessionInput!) {
  createPaymentSession(input: $input) {
    paymentCollection { id currencyCode paymentSessions { id status providerId } }
    paymentSession { id status providerId }
  }
}
"""
# No proxy: the server is on this machine's loopback (the CI host may set http_proxy).
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def request(url: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    """(HTTP status, decoded JSON or the raw text) of a GET, or a POST of `body` as JSON."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"content-type": "application/json"} if body is not None else {}
    req = urllib.request.Request(url, data=data, headers=headers)  # noqa: S310  # http only
    try:
        with OPENER.open(req, timeout=10) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_until_up(base: str, seconds: float) -> bool:
    """Whether /healthz answers 200 within `seconds` (the image's start-up takes a few)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if request(f"{base}/healthz")[0] == 200:
                return True
        except OSError:
            pass
        time.sleep(0.3)
    return False


def demo_collection(log_file: Path) -> str | None:
    """The sandbox's demo payment collection id, as its start-up banner announces it."""
    match = re.search(r"paymentCollectionId:\s+(\S+)", log_file.read_text(errors="replace"))
    return match.group(1) if match else None


def main(base: str, log_file: Path, version: str) -> int:
    """Every check against the server at `base`; 1 if any failed (each is reported)."""
    failures = 0

    def report(ok: bool, what: str, detail: object = "") -> None:
        nonlocal failures
        failures += not ok
        print(f"  {'ok  ' if ok else 'FAIL'} {what}" + ("" if ok else f": {detail}"))

    if not wait_until_up(base, 60):
        report(False, "the gateway answers /healthz within 60 s", log_file.read_text()[-2000:])
        return 1
    status, body = request(f"{base}/healthz")
    report(
        status == 200 and body == {"status": "ok", "version": version},
        f"/healthz is 200 with the release {version}",
        (status, body),
    )
    status, body = request(f"{base}/readyz")
    report(status == 200 and body == {"status": "ready"}, "/readyz is 200 ready", (status, body))

    # GraphiQL's npm files were fetched at build time and are served from the image (no CDN).
    status, _ = request(f"{base}/graphql/static/graphiql.min.css")
    report(status == 200, "GraphiQL's npm files are served from the image", status)

    collection = demo_collection(log_file)
    report(collection is not None, "the sandbox banner names its demo collection")
    if collection is None:
        return 1
    variables = {"input": {"paymentCollectionId": collection, "providerId": "pp_system_default"}}
    status, body = request(f"{base}/graphql", {"query": MUTATION, "variables": variables})
    created = body.get("data", {}).get("createPaymentSession") if isinstance(body, dict) else None
    session = (created or {}).get("paymentSession") or {}
    sessions = ((created or {}).get("paymentCollection") or {}).get("paymentSessions") or []
    report(
        status == 200
        and "errors" not in body
        and session.get("providerId") == "pp_system_default"
        and session.get("id") in {s.get("id") for s in sessions},
        "createPaymentSession creates a session on the demo collection",
        (status, body),
    )
    return 1 if failures else 0


if __name__ == "__main__":
    if sys.argv[1] == "--up":  # one probe: is a gateway answering /healthz there right now?
        raise SystemExit(0 if wait_until_up(sys.argv[2], 0.1) else 1)
    raise SystemExit(main(sys.argv[1], Path(sys.argv[2]), sys.argv[3]))
