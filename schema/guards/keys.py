"""Idempotency keys, caller scopes and request fingerprints: pure functions, HMAC'd.

Every name that reaches a store is an HMAC under the server's secret, so nothing a caller
sent (keys, tokens, cookies, payment data) can be read back from a key name or a lock.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Iterable, Mapping
from http.cookies import CookieError, SimpleCookie
from typing import Any, Final

import orjson
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
    VariableNode,
    print_ast,
)

from medusa_client.errors import RequestError

__all__ = [
    "SESSION_COOKIE",
    "caller_scope",
    "check_key",
    "fingerprint",
    "record_name",
    "selection_digest",
]

_KEY: Final = re.compile(r"[\x20-\x7e]{1,255}")
#: Medusa's session cookie (express-session): the only cookie that identifies a customer.
SESSION_COOKIE: Final = "connect.sid"


def check_key(key: str | None, header: str | None) -> str | None:
    """The request's key (input or `Idempotency-Key` header), or BAD_USER_INPUT before any call."""
    if key is not None and header is not None and key != header:
        msg = "idempotencyKey and the Idempotency-Key header differ: send one, or the same."
        raise RequestError(msg)
    chosen = key if key is not None else header
    if chosen is not None and not _KEY.fullmatch(chosen):
        msg = "An idempotency key is 1 to 255 printable ASCII characters."
        raise RequestError(msg)
    return chosen


def caller_scope(
    secret: bytes, publishable_key: bytes, authorization: bytes, cookie: bytes
) -> bytes:
    """Who is calling, as an HMAC: the publishable key, the authorization and the session.

    Only the allow-listed session cookie counts (other cookies change freely: analytics, A/B).
    """
    parts = (
        publishable_key,
        hashlib.sha256(authorization).digest(),
        hashlib.sha256(_session_cookie(cookie)).digest(),
    )
    return hmac.new(secret, b"scope\0" + b"\0".join(parts), hashlib.sha256).digest()


def record_name(secret: bytes, scope: bytes, mutation: str, key: str) -> str:
    """The store name of one key: per caller and per mutation, hex (64 characters)."""
    message = b"\0".join((b"record", scope, mutation.encode(), key.encode()))
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def fingerprint(secret: bytes, mutation: str, arguments: Mapping[str, Any], selection: str) -> str:
    """What makes two keyed requests "the same": mutation, canonical input, selection."""
    canonical = orjson.dumps(
        {"mutation": mutation, "input": arguments, "selection": selection},
        option=orjson.OPT_SORT_KEYS,
        default=str,  # coerced custom scalars: their text form is canonical enough
    )
    return hmac.new(secret, b"fingerprint\0" + canonical, hashlib.sha256).hexdigest()


def selection_digest(
    field_nodes: Iterable[FieldNode],
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> str:
    """The field's selection as printed, with the fragments and variables it uses applied.

    Arguments are left out (the input is fingerprinted canonically, without its key); the
    response key (alias) and directives stay, since they shape the answer.
    """
    printed: list[str] = []
    used_fragments: dict[str, str] = {}
    used_variables: set[str] = set()
    for node in field_nodes:
        alias = node.alias.value if node.alias else ""
        directives = " ".join(print_ast(d) for d in node.directives or ())
        body = "" if node.selection_set is None else print_ast(node.selection_set)
        printed.append(f"{alias}:{node.name.value} {directives} {body}")
        for directive in node.directives or ():
            _collect_variables(directive, used_variables)
        if node.selection_set is not None:
            _walk(node.selection_set, fragments, used_fragments, used_variables)
    material = {
        "fields": printed,
        "fragments": dict(sorted(used_fragments.items())),
        "variables": {name: variables.get(name) for name in sorted(used_variables)},
    }
    canonical = orjson.dumps(material, option=orjson.OPT_SORT_KEYS, default=str)
    return hashlib.sha256(canonical).hexdigest()


def _walk(
    selection_set: SelectionSetNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    used_fragments: dict[str, str],
    used_variables: set[str],
) -> None:
    _collect_variables(selection_set, used_variables)
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            fragment = fragments.get(name)
            if fragment is not None and name not in used_fragments:
                used_fragments[name] = print_ast(fragment)
                _walk(fragment.selection_set, fragments, used_fragments, used_variables)
        elif isinstance(selection, FieldNode | InlineFragmentNode) and selection.selection_set:
            _walk(selection.selection_set, fragments, used_fragments, used_variables)


def _collect_variables(node: object, found: set[str]) -> None:
    """Every `$name` under `node` (directive arguments of the selection, e.g. @skip(if: $x))."""
    if isinstance(node, VariableNode):
        found.add(node.name.value)
        return
    keys = getattr(node, "keys", ())
    for key in keys:
        if key in ("loc", "selection_set"):
            continue  # nested selection sets are walked (with their fragments) by _walk
        value = getattr(node, key, None)
        if isinstance(value, tuple | list):
            for item in value:
                _collect_variables(item, found)
        elif value is not None and hasattr(value, "keys"):
            _collect_variables(value, found)


def _session_cookie(cookie: bytes) -> bytes:
    """The value of Medusa's session cookie in a Cookie header, or b"" (never logged)."""
    if not cookie:
        return b""
    jar: SimpleCookie = SimpleCookie()
    try:
        jar.load(cookie.decode("latin-1"))
    except CookieError:
        return b""
    morsel = jar.get(SESSION_COOKIE)
    return b"" if morsel is None else morsel.value.encode("latin-1")
