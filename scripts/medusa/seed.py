"""Seed the running e2e Medusa through its Admin API, once: what the e2e tests need.

Creates or reuses: a sales channel, a publishable key linked to it, a USD region with the
system payment provider, and a published product with one priced variant. Writes the ids
(and the publishable key, which is not secret: it ships in storefronts) to the seed file.
Usage: python3 seed.py SEED_JSON_PATH   (MEDUSA_URL, ADMIN_EMAIL, ADMIN_PASSWORD from env.sh)
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path
from typing import Any

BASE = os.environ["MEDUSA_URL"]
if not BASE.startswith("http://127.0.0.1:"):
    sys.exit("seed.py only talks to a loopback Medusa")


def call(method: str, path: str, token: str | None = None, body: object = None) -> Any:  # noqa: ANN401  # JSON
    """One JSON request; exits with Medusa's answer on any error status."""
    headers = {"accept": "application/json", "content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(BASE + path, data=data, headers=headers, method=method)  # noqa: S310  # loopback http only, checked above
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            return json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        sys.exit(f"[seed] {method} {path} -> {error.code}: {error.read()[:500]!r}")


def main(seed_path: Path) -> None:
    """Create what is missing and write the seed file."""
    login = {"email": os.environ["ADMIN_EMAIL"], "password": os.environ["ADMIN_PASSWORD"]}
    token = call("POST", "/auth/user/emailpass", body=login)["token"]

    channels = call("GET", "/admin/sales-channels", token)["sales_channels"]
    channel = next((c for c in channels if c["name"] == "Default Sales Channel"), None)
    if channel is None:
        channel = call("POST", "/admin/sales-channels", token, {"name": "Default Sales Channel"})[
            "sales_channel"
        ]

    keys = call("GET", "/admin/api-keys?type=publishable&limit=100", token)["api_keys"]
    key = next((k for k in keys if k["title"] == "e2e" and not k.get("revoked_at")), None)
    if key is None:
        key = call("POST", "/admin/api-keys", token, {"title": "e2e", "type": "publishable"})[
            "api_key"
        ]
    call("POST", f"/admin/api-keys/{key['id']}/sales-channels", token, {"add": [channel["id"]]})

    regions = call("GET", "/admin/regions?limit=100", token)["regions"]
    region = next((r for r in regions if r["name"] == "US (e2e)"), None)
    if region is None:
        region = call(
            "POST",
            "/admin/regions",
            token,
            {
                "name": "US (e2e)",
                "currency_code": "usd",
                "countries": ["us"],
                "payment_providers": ["pp_system_default"],
            },
        )["region"]

    products = call("GET", "/admin/products?handle=e2e-tshirt", token)["products"]
    if products:
        product = products[0]
    else:
        product = call(
            "POST",
            "/admin/products",
            token,
            {
                "title": "E2E T-Shirt",
                "handle": "e2e-tshirt",
                "status": "published",
                "options": [{"title": "Size", "values": ["M"]}],
                "variants": [
                    {
                        "title": "M",
                        "sku": "E2E-TS-M",
                        "options": {"Size": "M"},
                        "manage_inventory": False,
                        "prices": [{"currency_code": "usd", "amount": 25}],
                    }
                ],
                "sales_channels": [{"id": channel["id"]}],
            },
        )["product"]

    seed = {
        "base_url": BASE,
        "publishable_key": key["token"],
        "region_id": region["id"],
        "sales_channel_id": channel["id"],
        "variant_id": product["variants"][0]["id"],
        "admin_email": os.environ["ADMIN_EMAIL"],
    }
    seed_path.write_text(json.dumps(seed, indent=2) + "\n")
    print(f"[seed] wrote {seed_path}")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
