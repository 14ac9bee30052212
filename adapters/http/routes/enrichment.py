"""Enrichment and re-index: list the models, run some over a dataset, cluster near-duplicates.

Both operations are tasks (202): they need the editor role and a dataset that is READY,
PARTIAL INDEX or ERROR with no task running (else 409). Request checks come in the order
404 (no role), 403 (viewer), 422 (unknown model or bad threshold), then the status machine.
"""

from __future__ import annotations

from uuid import UUID

from starlette.responses import Response

from adapters.enrichment.registry import default_registry
from adapters.http import models
from adapters.http.call import Call
from adapters.http.models_enrichment import (
    EnrichDataset,
    EnrichmentModelInfo,
    ModelList,
    ReindexDataset,
)
from adapters.http.registry import Registry
from adapters.http.services import uuid_param
from domain.access import Role
from domain.tasks import ENRICHMENT, REINDEX

registry = Registry()
TAGS = ("enrichment",)


@registry.add(
    "GET",
    "/api/v1/enrichment/{dataset_id}/list_models",
    "The enrichment models this server offers, and which the dataset has applied.",
    response=ModelList,
    errors=(404,),
    tags=TAGS,
)
def list_models(call: Call[None, None]) -> ModelList:
    dataset = call.services.app.get_dataset(call.actor, uuid_param(call, "dataset_id"))
    applied = dataset.current["facets"].get("models", {})
    return ModelList(
        models=[
            EnrichmentModelInfo(
                type=m.model_type,
                model_id=m.model_id,
                name=m.name,
                description=m.description,
                media_kinds=list(m.media_kinds),
                applied=applied.get(m.model_type) == m.model_id,
            )
            for m in default_registry().models()
        ]
    )


@registry.add(
    "POST",
    "/api/v1/dataset/{dataset_id}/enrich_dataset",
    "Run enrichment models over the dataset's media, in place, as a task.",
    body=EnrichDataset,
    response=models.TaskStarted,
    status=202,
    errors=(403, 404, 409, 422, 429),
    tags=TAGS,
)
def enrich_dataset(call: Call[EnrichDataset, None]) -> Response:
    dataset_id = _writable(call)
    chosen = default_registry().resolve(call.body.enrichment_models)
    params = {"models": {m.model_type: m.model_id for m in chosen}}
    return call.services.start_operation(call, dataset_id, ENRICHMENT, params, key="enrich")


@registry.add(
    "POST",
    "/api/v1/dataset/{dataset_id}/reindex",
    "Cluster near-duplicate media (a PARTIAL INDEX dataset becomes READY), as a task.",
    body=ReindexDataset,
    response=models.TaskStarted,
    status=202,
    errors=(403, 404, 409, 422, 429),
    tags=TAGS,
)
def reindex(call: Call[ReindexDataset, None]) -> Response:
    dataset_id = _writable(call)
    return call.services.start_operation(
        call, dataset_id, REINDEX, {"threshold": call.body.threshold}, key="reindex"
    )


def _writable(call: Call[object, object]) -> UUID:
    """The dataset id, once the caller is known to see it (404) and edit it (403)."""
    dataset_id = uuid_param(call, "dataset_id")
    call.services.app.get_dataset(call.actor, dataset_id, need=Role.EDITOR)
    return dataset_id
