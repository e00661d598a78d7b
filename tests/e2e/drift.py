"""Drift report: re-send every recorded request to the real Medusa and show what changed.

    python -m tests.e2e.drift           # table of changes (exit 1 if any)
    python -m tests.e2e.drift --write   # also rewrite tests/fixtures/recordings/ with the answers

For the day Medusa ships 2.22: run `bash scripts/medusa/up.sh` with MEDUSA_VERSION=2.22.x,
read the table, then `--write` and let the sandbox contract test show what to change.
Secrets are never written: keys and tokens are stored as placeholders, as the recorder did.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.medusa_backend import (
    Seed,
    collection_of,
    load_seed,
    new_cart,
    new_payment_collection,
    register_customer,
    store,
)
from tests.test_sandbox_contract import NOT_REPRODUCED, normalise, shape

RECORDINGS = Path(__file__).parent.parent / "fixtures/recordings"


def resend(seed: Seed, recording: dict[str, Any], customer_token: str) -> httpx.Response:
    """The recorded request, with today's ids, key and token."""
    request = recording["request"]
    collection_id = new_payment_collection(seed)
    path = re.sub(r"pay_col_01[0-9A-Z]+", collection_id, request["path"])
    if re.search(r"/store/carts/cart_01", path):
        # A cart read recorded after one session was created on the cart's collection.
        cart_id = new_cart(seed)
        with store(seed) as client:
            client.post(
                f"/store/payment-collections/{collection_of(seed, cart_id)}/payment-sessions",
                json={"provider_id": "pp_system_default"},
            ).raise_for_status()
        path = re.sub(r"cart_01[0-9A-Z]+", cart_id, path)
    query = re.sub(r"reg_01[0-9A-Z]+", seed.region_id, request["query_string"])
    headers = {
        key: value.replace("<PUBLISHABLE_KEY>", seed.publishable_key).replace(
            "<CUSTOMER_JWT>", customer_token
        )
        for key, value in request["headers"].items()
    }
    content = b""
    if request.get("raw_body") is not None:
        content = request["raw_body"].encode()
    elif request.get("body") is not None:
        body = json.dumps(request["body"])
        if "cart_id" in request["body"] and "DOESNOTEXIST" not in body:
            with httpx.Client(base_url=seed.base_url, timeout=30) as client:
                cart = client.post(
                    "/store/carts",
                    headers={"x-publishable-api-key": seed.publishable_key},
                    json={"region_id": seed.region_id, "email": "drift@example.test"},
                ).json()["cart"]
            body = re.sub(r"cart_01[0-9A-Z]+", cart["id"], body)
        content = body.encode()
    with httpx.Client(base_url=seed.base_url, timeout=30) as client:
        url = path + (f"?{query}" if query else "")
        return client.request(request["method"], url, headers=headers, content=content)


def compare(recording: dict[str, Any], response: httpx.Response) -> list[str]:
    """What differs: status, body shape, message (ids normalised)."""
    expected = recording["response"]
    changes = []
    if response.status_code != expected["status"]:
        changes.append(f"status {expected['status']} -> {response.status_code}")
    try:
        body = response.json()
    except ValueError:
        return [*changes, "body is not JSON"]
    if shape(body) != shape(expected["body"]):
        changes.append("body shape changed")
    old = expected["body"].get("message") if isinstance(expected["body"], dict) else None
    new = body.get("message") if isinstance(body, dict) else None
    if old and new and normalise(old) != normalise(new):
        changes.append(f"message: {normalise(new)!r}")
    return changes


def main(argv: list[str] | None = None) -> int:
    """Print the drift table; with --write, refresh the fixtures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the recordings")
    args = parser.parse_args(argv)
    seed = load_seed()
    if seed is None:
        print("No real Medusa: run `bash scripts/medusa/up.sh` first.", file=sys.stderr)
        return 2
    token, _ = register_customer(seed)
    drifted = 0
    for path in sorted(RECORDINGS.glob("*.json")):
        recording = json.loads(path.read_text())
        if recording["name"] in NOT_REPRODUCED:
            print(f"{recording['name']:45} skipped: {NOT_REPRODUCED[recording['name']]}")
            continue
        response = resend(seed, recording, token)
        changes = compare(recording, response)
        drifted += bool(changes)
        print(f"{recording['name']:45} {'; '.join(changes) or 'unchanged'}")
        if args.write and changes:
            scrubbed = response.text.replace(seed.publishable_key, "<PUBLISHABLE_KEY>")
            recording["response"]["status"] = response.status_code
            recording["response"]["body"] = json.loads(scrubbed.replace(token, "<CUSTOMER_JWT>"))
            path.write_text(json.dumps(recording, indent=2) + "\n")
    print(f"\n{drifted} of the recorded exchanges changed.")
    return 1 if drifted else 0


if __name__ == "__main__":
    raise SystemExit(main())
