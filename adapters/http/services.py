"""What endpoints use: the runtime's application and views, settings, and read-your-writes."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID, uuid4

from pydantic import BaseModel
from starlette.responses import JSONResponse, Response

from adapters.http.auth import TokenVerifier
from adapters.http.call import Call
from adapters.http.inputs import idempotent_id
from adapters.http.problems import BadInput
from adapters.runtime import Runtime
from adapters.settings import Settings
from application.datasets import Datasets
from domain.errors import NotFound

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
        """Wait (bounded) until the read models include ``position``: read-your-writes.

        ``Server-Timing: projection;dur=`` says how long that took (ms): the natural lag of
        the read models behind this write, which load benchmarks report.
        """
        started = time.perf_counter()
        self.runtime.positions.wait(position, self.settings.write_wait_seconds)
        waited = (time.perf_counter() - started) * 1000
        return {
            POSITION_HEADER: str(position),
            "Server-Timing": f'projection;dur={waited:.2f};desc="read models caught up"',
        }

    def task_started(self, task_id: object, dataset_id: object, position: int) -> Response:
        """The 202 of a command that started a task: Location of the task, and its ids."""
        headers = self.settle(position)
        headers["Location"] = f"/api/v1/tasks/{task_id}"
        return JSONResponse(
            {"task_id": str(task_id), "dataset_id": str(dataset_id)},
            status_code=202,
            headers=headers,
        )

    def answer(self, body: BaseModel, position: int) -> Response:
        """A write's 200: ``body``, once the read models include ``position``."""
        return Response(
            body.model_dump_json(), media_type="application/json", headers=self.settle(position)
        )

    def start_operation(
        self,
        call: Call[object, object],
        dataset_id: UUID,
        task_type: str,
        params: dict[str, Any],
        *,
        key: str,
    ) -> Response:
        """Start a data-modifying task; a retry with the same Idempotency-Key starts none."""
        task_id = idempotent_id(call, f"{key}:{dataset_id}") or uuid4()
        started, position = self.app.start_operation(
            call.actor, dataset_id, task_type, params, task_id
        )
        return self.task_started(started, dataset_id, position)

    def catch_up_for(self, call: Call[object, object], view: str) -> None:
        """Before reading ``view``: wait until it includes every write acknowledged so far.

        The target is X-Snapset-Min-Position when the client sends it (the position a
        write returned), else the log's position when this read began. Either way a read
        never shows less than what the client already saw acknowledged, whichever view
        happens to be ahead.
        """
        raw = call.header(MIN_POSITION_HEADER)
        if raw is None:
            target = self.app.position()
        elif raw.isdigit() and len(raw) <= 18:
            target = int(raw)
        else:
            raise BadInput("X-Snapset-Min-Position must be a whole number.")
        self.runtime.positions.wait(target, self.settings.read_wait_seconds, (view,))


def uuid_param(call: Call[object, object], name: str) -> UUID:
    """A path parameter that must be a UUID; anything else names nothing (404)."""
    try:
        return UUID(call.path[name])
    except ValueError:
        raise NotFound(f"No {name.replace('_', ' ')} {call.path[name]!r} exists.") from None
