"""Typed settings from the environment (prefix `GATEWAY_`), validated once at start-up.

Nothing reads settings at import time: `load_settings()` is called by the CLI or by
`create_app()`, so tests build `Settings(...)` directly and never touch `os.environ`.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from ipaddress import ip_network
from pathlib import Path
from typing import Annotated, Final, Literal
from urllib.parse import urlsplit

from pydantic import (
    AnyHttpUrl,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from medusa_client.client import DEFAULT_FORWARD_COOKIES
from medusa_client.errors import GatewayError
from schema.guards.gcra import Rate

__all__ = [
    "BackendProfileName",
    "Environment",
    "Settings",
    "SettingsError",
    "TrustedDocumentsMode",
    "env_name",
    "load_settings",
    "normalise_origin",
    "unknown_variables",
]

BackendProfileName = Literal["medusa-2.21", "open", "custom"]
Environment = Literal["development", "production"]
TrustedDocumentsMode = Literal["safelist", "require-id", "off"]

#: RFC 6265's cookie-name token.
_COOKIE_NAME: Final = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


def _split_csv(value: object) -> object:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


class Settings(BaseSettings):
    """Every knob of the gateway; each is `GATEWAY_<NAME>` in the environment or `--<name>`."""

    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_",
        case_sensitive=False,
        extra="forbid",
        frozen=True,
    )

    env: Environment = Field(
        default="development",
        description=(
            "production: GATEWAY_MEDUSA_URL required (no sandbox), GraphiQL, introspection and "
            "the federation SDL off unless enabled explicitly, GATEWAY_DEBUG and a `*` CORS "
            "origin refused, no `Did you mean` suggestions in errors."
        ),
    )
    medusa_url: AnyHttpUrl | None = Field(
        default=None,
        description="Base URL of the Medusa backend. Unset: the embedded sandbox backend "
        "(development only).",
    )
    sandbox_public: bool = Field(
        default=False,
        description="Let the embedded sandbox listen on a non-loopback GATEWAY_HOST (it serves "
        "demo data and a demo key to anyone who can reach it).",
    )
    publishable_key: SecretStr | None = Field(
        default=None,
        description="Publishable API key used when a client sends no x-publishable-api-key.",
    )
    host: str = Field(default="127.0.0.1", min_length=1, description="Interface to listen on.")
    port: int = Field(default=8000, ge=1, le=65535, description="TCP port to listen on.")
    connect_timeout: float = Field(
        default=3.0, gt=0, le=60, description="Seconds to open a backend connection."
    )
    request_timeout: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Read timeout: seconds to wait for Medusa's answer once the request is sent.",
    )
    write_timeout: float = Field(
        default=10.0, gt=0, le=600, description="Seconds to send the request to Medusa."
    )
    connect_retries: int = Field(
        default=1,
        ge=0,
        le=1,
        description="Retries (with jitter) when a connection is refused: nothing was sent.",
    )
    max_response_bytes: int = Field(
        default=2_000_000,
        ge=10_000,
        le=32_000_000,
        description="Largest Medusa answer read; a bigger one is a BACKEND_ERROR.",
    )
    max_in_flight: int = Field(
        default=256,
        ge=1,
        le=100_000,
        description="Most /graphql requests executing at once: the ceiling of the adaptive "
        "concurrency limit (gateway/overload.py); past the limit a request waits in the queue.",
    )
    min_in_flight: int = Field(
        default=64,
        ge=1,
        le=100_000,
        description="Floor of the adaptive concurrency limit (capped by max_in_flight): enough "
        "for one core's worth of requests waiting on a ~50 ms backend.",
    )
    adaptive_concurrency: bool = Field(
        default=False,
        description="Lower the concurrency limit while this process saturates its core (the "
        "event loop's lag grows) and raise it back when not; off by default (measured: it "
        "cost goodput on a CPU-bound process, docs/performance.md): the limit is "
        "max_in_flight.",
    )
    queue_timeout: float = Field(
        default=1.0,
        ge=0,
        le=60,
        description="Seconds a request may wait for a slot before it is shed (503 OVERLOADED, "
        "Retry-After); 0: shed at once when the limit is reached.",
    )
    max_queued: int = Field(
        default=2048,
        ge=0,
        le=100_000,
        description="Most requests waiting for a slot; more are shed at once.",
    )
    header_timeout: float = Field(
        default=10.0,
        gt=0,
        le=300,
        description="Seconds a client has to send a request's line and headers, from its "
        "first byte (slowloris); then 408 and the connection is closed.",
    )
    body_timeout: float = Field(
        default=20.0,
        gt=0,
        le=600,
        description="Seconds a client has to send a request's whole body once its headers "
        "arrived; then 408 and the connection is closed.",
    )
    keepalive_timeout: float = Field(
        default=5.0,
        gt=0,
        le=3600,
        description="Seconds an idle client connection (new, or between requests) is kept "
        "open. Behind a load balancer, set it above the balancer's idle timeout.",
    )
    max_header_bytes: int = Field(
        default=16_384,
        ge=1_024,
        le=1_048_576,
        description="Largest request line + headers, in bytes; more is refused with 431.",
    )
    max_headers: int = Field(
        default=100,
        ge=8,
        le=10_000,
        description="Most header fields in one request; more is refused with 431.",
    )
    shutdown_grace: float = Field(
        default=10.0, ge=0, le=300, description="Seconds a shutdown waits for in-flight requests."
    )
    pool_timeout: float = Field(
        default=5.0, gt=0, le=60, description="Seconds to wait for a free pooled connection."
    )
    max_connections: int = Field(
        default=256,
        ge=1,
        le=10_000,
        description="Most concurrent backend connections (sized for max_in_flight requests "
        "waiting on a ~50 ms backend; fewer caps throughput at this many / backend latency).",
    )
    ca_bundle: Path | None = Field(
        default=None,
        description="PEM file of the CA certificates that sign Medusa's TLS certificate "
        "(a private CA). Unset: the system's trust store.",
    )
    client_cert: Path | None = Field(
        default=None,
        description="PEM client certificate (chain) the gateway presents to Medusa (mutual TLS).",
    )
    client_key: Path | None = Field(
        default=None,
        description="PEM private key of GATEWAY_CLIENT_CERT (unset: the key is in that file).",
    )
    forward_cookies: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: sorted(DEFAULT_FORWARD_COOKIES),
        description="Cookies (by name, comma-separated) forwarded to Medusa; all others are "
        "dropped. Empty: none.",
    )
    provider_cache_seconds: float = Field(
        default=30.0,
        ge=0,
        le=3_600,
        description="Seconds a region's payment providers are remembered for the check "
        "initiatePaymentSession makes before creating anything; 0: read them every time.",
    )
    backend_profile: BackendProfileName = Field(
        default="medusa-2.21",
        description="Which `fields` paths the backend projects: medusa-2.21, open or custom.",
    )
    backend_allowed_fields: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="For backend_profile=custom: the exact field paths the backend projects.",
    )
    debug: bool = Field(
        default=False,
        description="Add extensions.upstream (the REST calls made) to responses. Never in prod.",
    )
    graphiql: bool = Field(
        default=True, description="Serve GraphiQL on GET /graphql (production default: off)."
    )
    graphiql_assets_dir: Path | None = Field(
        default=None,
        description="Folder of GraphiQL's npm files (python -m gateway fetch-graphiql). "
        "Unset: the package's static/graphiql/, then the user cache folder "
        "($XDG_CACHE_HOME/medusa-graphql-gateway/graphiql).",
    )
    introspection: bool = Field(
        default=True,
        description="Answer __schema/__type queries (production default: off).",
    )
    federation_sdl: bool = Field(
        default=True,
        description="Answer `_service { sdl }` for supergraph composition (production default: "
        "off; enable it where a composition pipeline introspects this subgraph).",
    )
    cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Browser origins allowed to call /graphql (comma-separated "
        "scheme://host[:port]; `*` for any). Unset in development: http(s)://localhost, "
        "127.0.0.1 and [::1] on any port; unset in production: none.",
    )
    max_query_bytes: int = Field(
        default=100_000, ge=1_000, le=10_000_000, description="Largest accepted query text."
    )
    max_body_bytes: int = Field(
        default=262_144,
        ge=1_000,
        le=50_000_000,
        description="Largest accepted POST body (query + variables), in bytes.",
    )
    max_tokens: int = Field(
        default=4_000, ge=100, le=1_000_000, description="Most lexical tokens in one document."
    )
    max_payment_mutations: int = Field(
        default=1,
        ge=0,
        le=100,
        description="Most payment-session mutations (the root fields the schema declares as "
        "creating one) in one operation (or batch).",
    )
    max_upstream_calls: int = Field(
        default=6,
        ge=1,
        le=1_000,
        description="Most backend calls one operation (or batch) may plan: its cost limit.",
    )
    max_relation_expansions: int = Field(
        default=6,
        ge=1,
        le=50,
        description="Most relations (nested lists and rows) one backend call may expand.",
    )
    max_backend_reads: int = Field(
        default=50,
        ge=1,
        le=10_000,
        description="Most backend reads one operation may make at run time (distinct carts and "
        "regions, e.g. of a federation _entities batch).",
    )
    max_batch_size: int = Field(
        default=0,
        ge=0,
        le=100,
        description="Operations accepted in one JSON array; 0 refuses batches.",
    )
    max_depth: int = Field(default=15, ge=2, le=100, description="Deepest accepted selection.")
    max_aliases: int = Field(
        default=30, ge=1, le=10_000, description="Most aliases accepted in one operation."
    )
    document_cache_size: int = Field(
        default=512, ge=0, le=100_000, description="Parsed+validated documents kept in memory."
    )
    document_cache_bytes: int = Field(
        default=32_000_000,
        ge=0,
        le=4_000_000_000,
        description="Memory bound of the document cache, in estimated bytes (AST included).",
    )
    max_selections: int = Field(
        default=1_000,
        ge=10,
        le=100_000,
        description="Most selections (fields, fragment spreads, inline fragments) written in "
        "one document: bounds the linear cost of validation.",
    )
    max_field_merges: int = Field(
        default=2_000,
        ge=10,
        le=1_000_000,
        description="Most pairs of same-named selections (repeated fields, fragments side by "
        "side) validation must compare: bounds its quadratic rule.",
    )
    trusted_documents: Path | None = Field(
        default=None,
        description="Trusted documents manifest (graphql-codegen persisted documents JSON, or "
        "Apollo's persisted-query-manifest.json), loaded and validated at start-up.",
    )
    trusted_documents_mode: TrustedDocumentsMode = Field(
        default="off",
        description="safelist: raw documents run only if in the manifest; require-id: only ids; "
        "off: anything (ids still resolve). Production default with a manifest: safelist.",
    )
    trusted_documents_reload_interval: float = Field(
        default=5.0,
        ge=0,
        le=3_600,
        description="Seconds between checks of the manifest file for changes (0: never reload).",
    )
    csrf_prevention: bool = Field(
        default=True,
        description="Run a GET, or a POST without a JSON content type, only with a header "
        "that forces a CORS preflight (apollo-require-preflight, x-apollo-operation-name).",
    )
    executor: Literal["compiled", "graphql-core"] = Field(
        default="compiled",
        description="How cached documents run: compiled (our resolvers, answer written straight "
        "from the backend's JSON; anything else still runs on graphql-core) or graphql-core "
        "for every document.",
    )
    log_level: Literal["critical", "error", "warning", "info", "debug"] = Field(
        default="info", description="Least severe log records written (every logger)."
    )
    workers: int = Field(
        default=1, ge=1, le=64, description="Processes serving the port (each with its own pool)."
    )
    log_format: Literal["text", "json"] = Field(
        default="text", description="Log lines as text, or one JSON object per line."
    )
    access_log: bool = Field(
        default=False,
        description="Log one line per /graphql request (operation, outcome code, duration, id).",
    )
    metrics: bool = Field(default=True, description="Serve Prometheus metrics on GET /metrics.")
    idempotency: bool = Field(
        default=True,
        description="Honour idempotency keys on payment mutations (off: a keyed request is "
        "refused with IDEMPOTENCY_UNAVAILABLE, never run unprotected).",
    )
    idempotency_ttl: float = Field(
        default=86_400.0,
        ge=60,
        le=30 * 86_400,
        description="Seconds a definitive answer is kept for replay under its key (24 h).",
    )
    idempotency_wait: float = Field(
        default=10.0,
        ge=0,
        le=120,
        description="Seconds a request waits for another one with the same key still running, "
        "before IDEMPOTENCY_IN_PROGRESS.",
    )
    idempotency_secret: SecretStr | None = Field(
        default=None,
        description="Secret (at least 32 characters) that names keys (HMAC) and seals stored "
        "answers (AES-GCM). Required with GATEWAY_REDIS_URL; unset: random per process.",
    )
    idempotency_max_keys: int = Field(
        default=100_000,
        ge=100,
        le=10_000_000,
        description="Most keys the in-memory store holds (without GATEWAY_REDIS_URL).",
    )
    redis_url: SecretStr | None = Field(
        default=None,
        description="redis:// or rediss:// URL: idempotency keys, rate-limit counters and the "
        "APQ registry are shared there by every replica. Unset: in process memory.",
    )
    redis_namespace: str = Field(
        default="mgg",
        pattern=r"^[A-Za-z0-9_\-]{1,32}$",
        description="Prefix of every Redis key this gateway writes (`<ns>:idem:...`).",
    )
    redis_timeout: float = Field(
        default=1.0,
        gt=0,
        le=30,
        description="Seconds for one Redis command (and to connect); past it the store is down.",
    )
    redis_max_connections: int = Field(
        default=50, ge=1, le=10_000, description="Most pooled Redis connections per process."
    )
    payment_rate_limit: str | None = Field(
        default=None,
        description="Payment mutations allowed per caller (scope + client address), as "
        "COUNT/PERIOD, e.g. 10/60s. Unset: no limit.",
    )
    rate_limit_per_ip: str | None = Field(
        default=None,
        description="Requests (any operation) allowed per client address, e.g. 300/60s. "
        "Unset: no limit.",
    )
    trusted_proxies: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="Proxy addresses or CIDRs (comma-separated) whose X-Forwarded-For names "
        "the client; from anyone else the header is ignored.",
    )

    _split_lists = field_validator(
        "backend_allowed_fields",
        "cors_origins",
        "trusted_proxies",
        "forward_cookies",
        mode="before",
    )(_split_csv)

    @field_validator("forward_cookies")
    @classmethod
    def _cookie_names(cls, names: list[str]) -> list[str]:
        bad = [name for name in names if not _COOKIE_NAME.fullmatch(name)]
        if bad:
            msg = "cookie names are tokens (letters, digits, !#$%&'*+-.^_`|~), comma-separated"
            raise ValueError(msg)
        return names

    @field_validator("payment_rate_limit", "rate_limit_per_ip")
    @classmethod
    def _is_a_rate(cls, value: str | None) -> str | None:
        if value is not None:
            Rate.parse(value)  # ValueError names the expected form
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _are_networks(cls, value: list[str]) -> list[str]:
        for item in value:
            ip_network(item, strict=False)  # ValueError names the bad address
        return value

    @field_validator("idempotency_secret")
    @classmethod
    def _secret_is_long(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 32:
            msg = "must have at least 32 characters (e.g. `openssl rand -hex 32`)"
            raise ValueError(msg)
        return value

    @field_validator("redis_url")
    @classmethod
    def _is_redis(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(
            ("redis://", "rediss://", "unix://")
        ):
            msg = "must be a redis://, rediss:// or unix:// URL"
            raise ValueError(msg)
        return value

    @model_validator(mode="after")
    def _shared_state_is_safe(self) -> Settings:
        if self.idempotency and self.workers > 1 and self.redis_url is None and self.medusa_url:
            msg = (
                "workers > 1 with idempotency on needs GATEWAY_REDIS_URL: each worker would keep "
                "its own keys, so one key could create two sessions"
            )
            raise ValueError(msg)
        if self.redis_url is not None and self.idempotency_secret is None:
            msg = (
                "GATEWAY_IDEMPOTENCY_SECRET is required with GATEWAY_REDIS_URL: every replica "
                "must name and seal stored answers with the same secret"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _client_key_needs_cert(self) -> Settings:
        if self.client_key is not None and self.client_cert is None:
            msg = "GATEWAY_CLIENT_KEY is the key of GATEWAY_CLIENT_CERT: set that too"
            raise ValueError(msg)
        return self

    @field_validator("cors_origins")
    @classmethod
    def _origins_are_origins(cls, origins: list[str]) -> list[str]:
        # A browser sends `Origin: https://shop.example` (no path, no trailing slash): an entry
        # in another form would be accepted here and then never match any request.
        return [normalise_origin(origin) for origin in origins]

    @model_validator(mode="before")
    @classmethod
    def _production_defaults(cls, data: object) -> object:
        # Before validation, so an explicit GATEWAY_GRAPHIQL=true still wins in production.
        if isinstance(data, dict) and str(data.get("env", "")).strip().lower() == "production":
            defaults: dict[str, object] = {
                "graphiql": False,
                "introspection": False,
                "federation_sdl": False,
            }
            if data.get("trusted_documents"):
                defaults["trusted_documents_mode"] = "safelist"
            data = {**defaults, **data}
        return data

    @field_validator("medusa_url")
    @classmethod
    def _no_credentials_or_query(cls, url: AnyHttpUrl | None) -> AnyHttpUrl | None:
        if url is not None and (url.username or url.password):
            msg = "must not embed credentials; use GATEWAY_PUBLISHABLE_KEY for the key"
            raise ValueError(msg)
        # `is not None`: a bare `?` or `#` parses as an empty query/fragment, and httpx would
        # then send every call to `<base>?/store/...`, i.e. to the backend's root path.
        if url is not None and (url.query is not None or url.fragment is not None):
            msg = "must be a base URL without query or fragment"
            raise ValueError(msg)
        return url

    @model_validator(mode="after")
    def _production_is_strict(self) -> Settings:
        if self.env == "production" and self.debug:
            msg = "GATEWAY_DEBUG must be off with GATEWAY_ENV=production (it shows backend calls)"
            raise ValueError(msg)
        if self.env == "production" and "*" in self.cors_origins:
            msg = "GATEWAY_CORS_ORIGINS must list origins with GATEWAY_ENV=production, not `*`"
            raise ValueError(msg)
        if self.max_query_bytes > self.max_body_bytes:
            msg = "GATEWAY_MAX_QUERY_BYTES must not exceed GATEWAY_MAX_BODY_BYTES"
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _enforced_mode_needs_a_manifest(self) -> Settings:
        if self.trusted_documents_mode != "off" and self.trusted_documents is None:
            msg = (
                f"GATEWAY_TRUSTED_DOCUMENTS_MODE={self.trusted_documents_mode} needs "
                "GATEWAY_TRUSTED_DOCUMENTS (the manifest's path)"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _fail_closed(self) -> Settings:
        # A production deploy that lost its backend URL (unset, misspelled) must not quietly
        # take payments against demo data: refuse to start instead.
        if self.env == "production" and self.medusa_url is None:
            msg = (
                "GATEWAY_ENV=production needs GATEWAY_MEDUSA_URL (the Medusa backend's base URL); "
                "the embedded sandbox runs only with GATEWAY_ENV=development"
            )
            raise ValueError(msg)
        if self.uses_sandbox and not self.sandbox_public and not _is_loopback(self.host):
            msg = (
                f"the embedded sandbox (no GATEWAY_MEDUSA_URL) listens only on loopback, not on "
                f"{self.host!r}: set GATEWAY_MEDUSA_URL, or GATEWAY_SANDBOX_PUBLIC=true if serving "
                "demo data on this interface is meant"
            )
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _workers_need_a_backend(self) -> Settings:
        if self.workers > 1 and self.medusa_url is None:
            # Each worker process would seed its own sandbox: ids from one fail on the other.
            msg = "workers > 1 needs GATEWAY_MEDUSA_URL (each worker would get its own sandbox)"
            raise ValueError(msg)
        return self

    @model_validator(mode="after")
    def _custom_profile_needs_fields(self) -> Settings:
        if self.backend_profile == "custom" and not self.backend_allowed_fields:
            msg = "backend_profile=custom needs GATEWAY_BACKEND_ALLOWED_FIELDS (comma-separated)"
            raise ValueError(msg)
        if self.backend_profile != "custom" and self.backend_allowed_fields:
            msg = "GATEWAY_BACKEND_ALLOWED_FIELDS is only used with GATEWAY_BACKEND_PROFILE=custom"
            raise ValueError(msg)
        return self

    @property
    def medusa_base_url(self) -> str | None:
        """The backend URL without a trailing slash, ready to prefix API paths."""
        return None if self.medusa_url is None else str(self.medusa_url).rstrip("/")

    @property
    def uses_sandbox(self) -> bool:
        """True when no backend is configured and the embedded sandbox answers instead."""
        return self.medusa_url is None


def normalise_origin(value: str) -> str:
    """`scheme://host[:port]` as browsers send it in `Origin`, or ValueError saying why not.

    A trailing slash is dropped (`https://shop.example/` is the same origin); a path, query,
    fragment, credentials or a missing scheme are refused, since no `Origin` header has them.
    """
    if value == "*":
        return value
    parts = urlsplit(value)
    problem = None
    if parts.scheme not in {"http", "https"} or not parts.netloc:
        problem = "needs a scheme and a host, e.g. https://shop.example"
    elif parts.path not in {"", "/"} or parts.query or parts.fragment or "?" in value:
        problem = "must be an origin (scheme://host[:port]) without a path"
    elif "@" in parts.netloc:
        problem = "must not hold credentials"
    else:
        try:
            port = parts.port
        except ValueError:
            port, problem = None, "has an invalid port"
    if problem is not None:
        shown = value if len(value) <= 100 else value[:100] + "..."
        msg = f"{shown!r} {problem}"
        raise ValueError(msg)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def _is_loopback(host: str) -> bool:
    if host.strip("[]").lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name other than localhost: may resolve to anything


#: Variables with the GATEWAY_ prefix that are not settings but are known (read elsewhere).
_NOT_SETTINGS: Final = frozenset[str]()


def unknown_variables(environ: Mapping[str, str]) -> list[tuple[str, str | None]]:
    """`GATEWAY_*` variables that no setting reads, each with the closest known name (or None).

    pydantic-settings ignores them silently, so a typo (`GATEWAY_MEDUSAURL`) would otherwise
    leave its setting at the default. Only names are returned, never values.
    """
    known = [f"GATEWAY_{name.upper()}" for name in Settings.model_fields]
    found = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith("GATEWAY_") or upper in known or upper in _NOT_SETTINGS:
            continue
        close = difflib.get_close_matches(upper, known, n=1, cutoff=0.6)
        found.append((name, close[0] if close else None))
    return found


class SettingsError(GatewayError):
    """Start-up settings are invalid; the message names each bad setting and why."""

    code = "INVALID_SETTINGS"

    def __init__(self, message: str, problems: Sequence[tuple[str, str]] = ()) -> None:
        super().__init__(message)
        #: (field name, or "" for a rule across settings; what is wrong) per problem found.
        self.problems = tuple(problems)

    def naming(self, name_of: Callable[[str], str]) -> str:
        """The message with each setting named by `name_of(field)`.

        The CLI names the flag the user typed, not the variable they did not set.
        """
        return _render(self.problems, name_of) if self.problems else str(self)


def env_name(field: str) -> str:
    """The environment variable of a Settings field (`port` -> `GATEWAY_PORT`)."""
    return f"GATEWAY_{field.upper()}" if field else "settings"


def load_settings(**overrides: object) -> Settings:
    """Read the environment (plus CLI overrides) and validate, or raise `SettingsError`."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # keys checked by extra=forbid
    except ValidationError as exc:
        problems = [
            (
                ".".join(str(part) for part in error["loc"]),
                error["msg"].removeprefix("Value error, "),
            )
            # Never keep the rejected value: it could be a secret (the publishable key).
            for error in exc.errors(include_url=False, include_input=False)
        ]
        raise SettingsError(_render(problems, env_name), problems) from None


def _render(problems: Sequence[tuple[str, str]], name_of: Callable[[str], str]) -> str:
    lines = ["Invalid gateway settings:"]
    lines += [f"  {name_of(field) if field else 'settings'}: {msg}" for field, msg in problems]
    return "\n".join(lines)
