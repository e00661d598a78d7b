"""CORS that explains itself: a refused preflight says why, and the log names the setting.

Starlette's middleware answers a refused preflight with a bare `Disallowed CORS origin`, and
without any configured origin there is no middleware at all, so a browser gets a 405 and the
developer a console error that names nothing. Here a preflight is always answered: allowed, or
refused with a JSON message and a WARNING naming `GATEWAY_CORS_ORIGINS` (once per origin, so a
flood of origins cannot flood the log).

Development default (no GATEWAY_CORS_ORIGINS): pages served from this machine
(`http(s)://localhost|127.0.0.1|[::1]` on any port), so a storefront on `localhost:3000` works
out of the box. Production default: no origin (list them).
"""

from __future__ import annotations

import logging
from typing import Final

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp

from gateway.config import Settings
from gateway.csrf import PREFLIGHT_HEADERS
from gateway.errors import CorsNotAllowed
from medusa_client import jsonio

__all__ = ["LOCAL_ORIGINS", "ExplainingCORSMiddleware"]

_log = logging.getLogger("gateway.cors")

#: Development's default: origins of pages served from this machine, any port.
LOCAL_ORIGINS: Final = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:[0-9]{1,5})?"
_ALLOWED_HEADERS: Final = (
    "content-type",
    "authorization",
    "x-publishable-api-key",
    "x-medusa-locale",
    "x-request-id",
    "idempotency-key",  # docs/idempotency.md: the header form of idempotencyKey
    "apollographql-client-name",
    "apollographql-client-version",
    *PREFLIGHT_HEADERS,  # CSRF prevention (gateway.csrf) asks GET callers for one of them
)
#: Refused origins logged once each, up to this many (then one line says logging stopped).
_MAX_LOGGED_ORIGINS: Final = 100


class ExplainingCORSMiddleware(CORSMiddleware):
    """Starlette's CORS, with refused preflights explained to the browser and the operator."""

    def __init__(self, app: ASGIApp, *, settings: Settings) -> None:
        origins = list(settings.cors_origins)
        regex = LOCAL_ORIGINS if not origins and settings.env == "development" else None
        super().__init__(
            app,
            allow_origins=origins,
            allow_origin_regex=regex,
            allow_methods=["GET", "POST"],
            allow_headers=list(_ALLOWED_HEADERS),
            allow_credentials="*" not in origins,
            # x-request-id: a browser app can quote it in bug reports; the others say what a
            # guard did (a replayed answer, how long to wait after a 429).
            expose_headers=["x-request-id", "idempotent-replayed", "retry-after"],
            max_age=600,
        )
        self._listed = bool(origins or regex)
        self._logged: set[str] = set()

    def preflight_response(self, request_headers: Headers) -> Response:
        """Answer a preflight; a refusal names what was refused and the setting to change."""
        answer = super().preflight_response(request_headers)
        if answer.status_code < 400:
            return answer
        origin = request_headers["origin"]
        if not self.is_allowed_origin(origin=origin):
            shown = origin if len(origin) <= 100 else origin[:100] + "..."
            listed = "is not" if self._listed else "cannot be: no origin is"
            message = (
                f"Origin {shown} {listed} allowed to call this GraphQL API from a browser "
                "(the gateway's GATEWAY_CORS_ORIGINS setting lists the allowed origins)."
            )
            self._warn(shown)
        else:
            what = bytes(answer.body).decode().removeprefix("Disallowed CORS ")
            message = f"This cross-origin request is not allowed ({what})."
        refused = CorsNotAllowed(message)
        body = {"errors": [{"message": refused.message, "extensions": refused.extensions()}]}
        headers = {k: v for k, v in answer.headers.items() if k.lower().startswith("access-")}
        return Response(
            jsonio.dumps(body),
            status_code=refused.status,
            media_type="application/json; charset=utf-8",
            headers=headers,
        )

    def _warn(self, origin: str) -> None:
        if origin in self._logged or len(self._logged) > _MAX_LOGGED_ORIGINS:
            return
        self._logged.add(origin)
        if len(self._logged) > _MAX_LOGGED_ORIGINS:
            _log.warning(
                "CORS: more refused origins than %d; no longer logging them", _MAX_LOGGED_ORIGINS
            )
            return
        _log.warning(
            "CORS: refused a preflight from origin %s; add it to GATEWAY_CORS_ORIGINS if the "
            "browser app there should call this gateway",
            origin,
            extra={"origin": origin},
        )
