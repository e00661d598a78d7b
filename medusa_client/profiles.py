"""Backend profiles: which `fields` paths a given Medusa deployment actually projects.

Medusa 2.21's store route projects 13 exact paths and silently strips the rest; older or
customised backends project anything. The profile is what the projection compiler plans
against, so a field the backend cannot return is reported, never silently nulled.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from medusa_client.fields import DEFAULTS

__all__ = [
    "DEFAULT_FIELDS",
    "MEDUSA_2_21_ALLOWED",
    "BackendProfile",
    "custom_profile",
    "profile_named",
]

#: What Medusa returns when `fields` is absent, as a set (the model's `DEFAULTS`).
DEFAULT_FIELDS: Final = frozenset(DEFAULTS)

#: `retrievePaymentCollectionTransformQueryConfig.allowed` of @medusajs/medusa 2.21.x.
MEDUSA_2_21_ALLOWED: Final = frozenset(
    {
        "id",
        "currency_code",
        "amount",
        "payment_sessions",
        "status",
        "payment_providers",
        "payment_providers.id",
        "payment_sessions.id",
        "payment_sessions.amount",
        "payment_sessions.currency_code",
        "payment_sessions.provider_id",
        "payment_sessions.data",
        "payment_sessions.status",
    }
)


@dataclass(frozen=True, slots=True)
class BackendProfile:
    """An allow-list of exact paths (`None`: everything is projected).

    A relation name in the list (`payment_sessions`) means `*relation` expands it with every
    column; a dotted path (`payment_sessions.status`) can be asked for alone.
    """

    name: str
    allowed: frozenset[str] | None
    reason: str

    def column_exposed(self, path: str) -> bool:
        """Whether `path` can be asked for on its own."""
        return self.allowed is None or path in self.allowed

    def star_exposed(self, relation: str) -> bool:
        """Whether `*relation` returns the relation with all its columns."""
        return self.allowed is None or relation in self.allowed


_PROFILES: Final = {
    "medusa-2.21": BackendProfile(
        name="medusa-2.21",
        allowed=MEDUSA_2_21_ALLOWED,
        reason=(
            "Medusa 2.21's store route projects only 13 payment-collection paths and silently "
            "drops the rest (backend profile medusa-2.21)"
        ),
    ),
    "open": BackendProfile(
        name="open",
        allowed=None,
        reason="the backend is configured as projecting every path (backend profile open)",
    ),
}


def profile_named(name: str) -> BackendProfile:
    """One of the built-in profiles: `medusa-2.21` or `open`."""
    try:
        return _PROFILES[name]
    except KeyError:
        msg = f"unknown backend profile {name!r}; known: {', '.join(sorted(_PROFILES))}"
        raise ValueError(msg) from None


def custom_profile(allowed: Iterable[str]) -> BackendProfile:
    """A profile for a customised backend: `allowed` as its route's allow-list."""
    paths = frozenset(p.strip().removeprefix("*").removesuffix(".*") for p in allowed)
    return BackendProfile(
        name="custom",
        allowed=paths | {"id"},
        reason="the backend's allow-list does not include it (backend profile custom)",
    )
