"""The one TLS context the backend client uses: the trust store, and the client certificate.

Built once at start-up from the settings, so a bad file is a start-up error naming the
setting, not a failure on the first payment call, and every connection shares the context.
"""

from __future__ import annotations

import ssl
from pathlib import Path

__all__ = ["TLSConfigError", "client_context"]


class TLSConfigError(ValueError):
    """A CA bundle or client certificate cannot be used; the message names the setting."""


def client_context(
    *,
    ca_bundle: Path | None = None,
    client_cert: Path | None = None,
    client_key: Path | None = None,
) -> ssl.SSLContext:
    """A verifying client context: `ca_bundle` (else the system store) and an mTLS identity.

    Host names and certificates are always checked; nothing here can turn that off.
    """
    try:
        context = ssl.create_default_context(cafile=None if ca_bundle is None else str(ca_bundle))
    except (OSError, ssl.SSLError) as exc:
        msg = (
            f"GATEWAY_CA_BUNDLE ({ca_bundle}) is not a readable PEM file of CA certificates: {exc}"
        )
        raise TLSConfigError(msg) from None
    if client_cert is not None:
        try:
            context.load_cert_chain(
                str(client_cert), None if client_key is None else str(client_key)
            )
        except (OSError, ssl.SSLError) as exc:
            # Never the key's content; the paths are the operator's own settings.
            msg = (
                f"GATEWAY_CLIENT_CERT/GATEWAY_CLIENT_KEY ({client_cert}, {client_key}) are not "
                f"a readable PEM certificate and its private key: {exc}"
            )
            raise TLSConfigError(msg) from None
    return context
