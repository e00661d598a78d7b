"""Suites that need outside pieces (Chromium, npm packages) skip locally, and fail in CI.

`.ci/run` installs every such piece and sets `CI=true` (as CI services do), so there a missing
piece is a broken build, never a silently skipped suite.
"""

from __future__ import annotations

import os

import pytest

__all__ = ["IN_CI", "unless_present"]

IN_CI = os.environ.get("CI") == "true"


def unless_present(missing: bool, reason: str) -> pytest.MarkDecorator:
    """Skip when `missing` on a developer's machine; in CI run anyway, so the suite fails."""
    return pytest.mark.skipif(missing and not IN_CI, reason=reason)
