"""What endpoints use: the runtime's application and views, settings, and read-your-writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from adapters.http.auth import TokenVerifier
from adapters.http.endpoint import Call
from adapters.http.problems import BadInput
from adapters.runtime import Runtime
from adapters.settings import Settings
from application.datasets import Datasets

POSITION_HEADER = "X-Snapset-Position"
MIN_POSITION_HEADER = "x-snapset-min-position"


@dataclass
class Services:
    runtime: Runtime
    settings: Settings
    verifier: TokenVerifier

    @property
    def app(self) -> Datasets:
        app: Datasets = self.runtime.backend.app
        return app

    def view(self, name: str) -> Any:
        return self.runtime.backend.views[name]

    def settle(self, position: int) -> dict[str, str]:
        """Wait (bounded) until the read models include ``position``: read-your-writes."""
        self.runtime.positions.wait(position, self.settings.write_wait_seconds)
        return {POSITION_HEADER: str(position)}

    def catch_up_for(self, call: Call) -> None:
        """Honour X-Snapset-Min-Position on reads: wait until the views reach it."""
        raw = call.header(MIN_POSITION_HEADER)
        if raw is None:
            return
        if not raw.isdigit() or len(raw) > 18:
            raise BadInput("X-Snapset-Min-Position must be a whole number.")
        self.runtime.positions.wait(int(raw), self.settings.write_wait_seconds)


def uuid_param(call: Call, name: str) -> UUID:
    """A path parameter that must be a UUID; anything else names nothing (404)."""
    from domain.errors import NotFound

    try:
        return UUID(call.path[name])
    except ValueError:
        raise NotFound(f"No {name.replace('_', ' ')} {call.path[name]!r} exists.") from None
