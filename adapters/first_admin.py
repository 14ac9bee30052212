"""The first admin user, created by whichever command meets an empty store first.

``serve`` creates it on its first start and ``import`` when it needs a user and none was
named; either prints the key and secret, which are shown only this once.
"""

from __future__ import annotations

import sys
from typing import TextIO

from application.datasets import Datasets
from domain.errors import Conflict

FIRST_ADMIN_EMAIL = "admin@snapset.local"


def ensure_first_admin(app: Datasets, out: TextIO | None = None) -> bool:
    """Create the first admin unless it exists; True when this call created it."""
    if app.has_user(FIRST_ADMIN_EMAIL):
        return False
    try:
        api_key, api_secret = app.register_user(FIRST_ADMIN_EMAIL, "admin")
    except Conflict:  # another process created it a moment ago
        return False
    print(
        f"Created the first admin user {FIRST_ADMIN_EMAIL}. Keep these; the secret is "
        f"shown only now:\n  api_key:    {api_key}\n  api_secret: {api_secret}\n"
        f"Get a token with: snapset token --api-key {api_key} --api-secret {api_secret}",
        file=out or sys.stdout,
        flush=True,
    )
    return True
