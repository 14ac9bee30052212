"""Enrichment (ENRICHMENT): run offline models over a dataset's media, in place.

A model is one class behind ``EnrichmentModel`` (the adapters hold the real ones; the
registry names them by type and id). The task's params are ``{"models": {TYPE: model_id}}``.
Each item of a kind a model applies to gets ``record["enrichment"][TYPE] = {"model_id":
..., **outputs}``. An item that already carries the same model id's output is not run
again (outputs are a function of the file and the model id, so a new model version needs a
new id), which makes enriching again after a media addition cost only the new items.

Per-item failures (an unreadable, truncated or oversized file) go to the task's report and
remove that type's stale output from the item, so an item's output is always the applied
model's or absent; they never fail the task. It fails only for an unknown model, or when
nothing could be enriched at all (every run failed and no item had the output already).
The dataset returns to the status it had before, and the applied models are recorded in the
dataset's facets.

The task's report: ``models`` (type -> id), ``items`` (media of the models' kinds),
``processed`` (items that now carry every output that applies to them), ``reused`` (outputs
already there), ``error_count`` (failed item-model runs) and ``errors``: the first 20, each
``{"media_id", "file_name", "model", "detail"}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from application.operations.base import OperationFailed, Outcome, TaskContext
from application.operations.ingest import UnsupportedMedia
from application.operations.parallel import ordered_map
from application.ports import BlobStore
from domain.content_tree import Record
from domain.errors import Invalid
from domain.status import Status
from domain.tasks import ENRICHMENT

MAX_SAMPLE_ERRORS = 20


class EnrichmentModel(Protocol):
    """One model: identity for the registry and the API, and ``run`` for one media file."""

    @property
    def model_type(self) -> str:
        """What it computes, e.g. "IMAGE_PROPERTIES"; the key of its outputs in a record."""
        ...

    @property
    def model_id(self) -> str:
        """Which implementation, e.g. "image-properties-v1"; a new version needs a new id."""
        ...

    @property
    def name(self) -> str: ...

    @property
    def description(self) -> str: ...

    @property
    def media_kinds(self) -> tuple[str, ...]:
        """The record kinds it applies to: "image", "video"."""
        ...

    def run(self, path: Path, record: Record) -> dict[str, Any]:
        """JSON-safe outputs for the file at ``path``; raises ``UnsupportedMedia`` (from
        application.operations.ingest) when the file cannot be read as this model needs."""
        ...


class ModelRegistry:
    """The models a deployment offers, looked up by (type, model id)."""

    def __init__(self, models: Iterable[EnrichmentModel]) -> None:
        self._models: dict[tuple[str, str], EnrichmentModel] = {}
        for model in models:
            key = (model.model_type, model.model_id)
            if key in self._models:
                raise ValueError(f"Model {key} is registered twice.")
            self._models[key] = model

    def models(self) -> list[EnrichmentModel]:
        """Every model, by type then id."""
        return [self._models[key] for key in sorted(self._models)]

    def get(self, model_type: str, model_id: str) -> EnrichmentModel:
        ids = [i for t, i in sorted(self._models) if t == model_type]
        if not ids:
            known = ", ".join(sorted({t for t, _ in self._models}))
            raise Invalid(f"Unknown enrichment model type {model_type!r} (known: {known}).")
        if (model_type, model_id) not in self._models:
            raise Invalid(
                f"Unknown model id {model_id!r} for {model_type} (known: {', '.join(ids)})."
            )
        return self._models[(model_type, model_id)]

    def default(self, model_type: str) -> EnrichmentModel:
        """The first registered model of a type."""
        for (found_type, _), model in self._models.items():
            if found_type == model_type:
                return model
        raise Invalid(f"Unknown enrichment model type {model_type!r}.")

    def resolve(self, requested: object) -> list[EnrichmentModel]:
        """The models a ``{TYPE: model_id}`` mapping names; Invalid for any unknown one."""
        if not isinstance(requested, Mapping) or not requested:
            raise Invalid('Choose at least one enrichment model: {"TYPE": "model_id"}.')
        return [
            self.get(str(model_type), str(model_id))
            for model_type, model_id in sorted(requested.items())
        ]


@dataclass
class ItemErrors:
    """Failed (item, model) runs: a count and the first few, for the task's report."""

    count: int = 0
    sample: list[dict[str, str]] = field(default_factory=list)

    def add(self, record: Record, model: str, detail: str) -> None:
        self.count += 1
        if len(self.sample) < MAX_SAMPLE_ERRORS:
            self.sample.append(
                {
                    "media_id": str(record.get("media_id")),
                    "file_name": str(record.get("file_name")),
                    "model": model,
                    "detail": detail,
                }
            )


def blob_path(blobs: BlobStore, record: Record) -> Path:
    """The item's media file; UnsupportedMedia when the blob store does not have it."""
    try:
        path = blobs.path(str(record.get("blob") or ""))
    except ValueError:
        raise UnsupportedMedia("the item has no stored media file") from None
    if not path.is_file():
        raise UnsupportedMedia("the item's media file is missing from the blob store")
    return path


def status_after(context: TaskContext) -> str:
    """The status an in-place operation returns to: the one it started from. From ERROR
    (a failed operation published nothing, so the content is intact) READY, or PARTIAL
    INDEX when clusters exist, since they may predate a media addition."""
    before = context.task["status_before"]
    if before in (Status.READY, Status.PARTIAL_INDEX):
        return str(before)
    return Status.PARTIAL_INDEX.value if context.clustered else Status.READY.value


@dataclass
class _Result:
    media_id: str
    source: Record
    record: Record | None = None  # the changed record, or None when nothing changed
    ran: int = 0
    reused: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (model type, detail)


class Enrichment:
    task_type = ENRICHMENT

    def __init__(self, blobs: BlobStore, registry: ModelRegistry, *, threads: int = 2) -> None:
        self._blobs = blobs
        self._registry = registry
        self._threads = threads

    def run(self, context: TaskContext) -> Outcome:
        try:
            models = self._registry.resolve(context.params.get("models"))
        except Invalid as error:
            raise OperationFailed(error.detail) from None
        kinds = {kind for model in models for kind in model.media_kinds}
        counts = context.tree.counts(context.content_root)
        total = (counts.images if "image" in kinds else 0) + (
            counts.videos if "video" in kinds else 0
        )
        items = (
            (media_id, record)
            for media_id, record in context.tree.items(context.content_root)
            if record.get("kind") in kinds
        )
        errors = ItemErrors()
        tally = {"done": 0, "ran": 0, "reused": 0, "clean": 0}

        def changes() -> Iterator[tuple[str, Record]]:
            """The enriched items, in tree order, as they come: none is kept longer."""
            results = ordered_map(
                lambda item: self._enrich(item, models),
                items,
                self._threads,
                inline=lambda item: not _to_run(item[1], models),
            )
            for result in results:
                tally["done"] += 1
                tally["ran"] += result.ran
                tally["reused"] += result.reused
                tally["clean"] += not result.failed
                for model_type, detail in result.failed:
                    errors.add(result.source, model_type, detail)
                done = tally["done"]
                context.tick(done, total, f"Enriched {done} of {total} items.", share=95)
                if result.record is not None:
                    yield result.media_id, result.record

        root = context.tree.update_stream(context.content_root, changes())
        done, clean = tally["done"], tally["clean"]
        if errors.count and not tally["ran"] and not tally["reused"]:
            first = errors.sample[0]
            raise OperationFailed(
                f"No item could be enriched ({errors.count} errors; "
                f"{first['file_name']}: {first['detail']})."
            )
        applied = {model.model_type: model.model_id for model in models}
        report = {
            "models": applied,
            "items": done,
            "processed": clean,
            "reused": tally["reused"],
            "error_count": errors.count,
            "errors": errors.sample,
        }
        return Outcome(
            root=root,
            status=status_after(context),
            message=_message(done, clean, applied, errors),
            facets={"models": {**context.facets.get("models", {}), **applied}},
            report=report,
        )

    def _enrich(self, item: tuple[str, Record], models: list[EnrichmentModel]) -> _Result:
        media_id, record = item
        result = _Result(media_id, record)
        todo = _to_run(record, models)
        result.reused = sum(record.get("kind") in m.media_kinds for m in models) - len(todo)
        return self._run_models(result, record, todo)

    def _run_models(self, result: _Result, record: Record, todo: list[EnrichmentModel]) -> _Result:
        """Run ``todo`` on the item's media, keeping each output (and dropping a failed
        model's old one)."""
        if not todo:
            return result
        enrichment: dict[str, Any] = dict(record.get("enrichment") or {})
        try:
            path = blob_path(self._blobs, record)
        except UnsupportedMedia as error:
            result.failed = [(m.model_type, str(error)) for m in todo]
            todo = []
        for model in todo:
            try:
                enrichment[model.model_type] = {
                    **model.run(path, record),
                    "model_id": model.model_id,
                }
                result.ran += 1
            except UnsupportedMedia as error:
                result.failed.append((model.model_type, str(error)))
        for model_type, _ in result.failed:
            enrichment.pop(model_type, None)
        if enrichment != record.get("enrichment"):
            result.record = {**record, "enrichment": enrichment}
        return result


def _to_run(record: Record, models: list[EnrichmentModel]) -> list[EnrichmentModel]:
    """The models that apply to the item and have no output of theirs on it yet."""
    enrichment = record.get("enrichment") or {}
    todo = []
    for model in models:
        if record.get("kind") in model.media_kinds:
            current = enrichment.get(model.model_type)
            if not (isinstance(current, dict) and current.get("model_id") == model.model_id):
                todo.append(model)
    return todo


def _message(items: int, clean: int, applied: dict[str, str], errors: ItemErrors) -> str:
    names = ", ".join(f"{t} ({i})" for t, i in applied.items())
    if not items:
        return f"No media of the kinds {names} applies to; nothing to enrich."
    text = f"Enriched {clean} of {items} items with {names}."
    if errors.count:
        text += f" {errors.count} model runs failed; see the task's report."
    return text
