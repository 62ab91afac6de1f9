"""The registry page: versions with their aliases and metrics, lineage, the alias history, a
metric across versions, feature importance, and what promote / rollback would do."""

from __future__ import annotations

from typing import Any

from mloop.client import Client
from mloop.dashboard.charts import Chart, bars, lines
from mloop.dashboard.importance import ImportanceCache
from mloop.entities import AliasEvent, ModelVersion, Run
from mloop.errors import MloopError, NotFound
from mloop.services.registry import rollback_target

MAX_VERSIONS = 50
MAX_METRICS = 6


def chosen_model(client: Client, name: str | None) -> str | None:
    """``name`` when given, else the first registered model (None when there is none)."""
    if name:
        return name
    models = client.registry.list_models()
    return models[0].name if models else None


def _run_or_none(client: Client, version: ModelVersion) -> Run | None:
    try:
        return client.tracking.get_run(version.run_id)
    except NotFound:
        return None


def _metrics(run: Run | None) -> dict[str, float]:
    return run.metrics if run is not None else {}


def _across_versions(versions: list[ModelVersion], runs: dict[int, Run | None]) -> Chart:
    ordered = sorted(versions, key=lambda v: v.version)
    keys = list(dict.fromkeys(k for v in ordered for k in sorted(_metrics(runs[v.version]))))
    series = []
    for key in keys[:MAX_METRICS]:
        pairs = [(f"v{v.version}", _metrics(runs[v.version]).get(key)) for v in ordered]
        kept = [(x, y) for x, y in pairs if y is not None]
        series.append((key, [x for x, _ in kept], [y for _, y in kept]))
    return Chart(
        "version-metrics",
        "Metrics of each version, as its training run logged them",
        "No version's run logged a metric yet.",
        lines(series, "value", "version", xaxis={"type": "category", "title": {"text": "version"}}),
    )


def _rollback_targets(history: list[AliasEvent]) -> dict[str, int]:
    targets = {}
    for alias in {e.alias for e in history}:
        try:
            targets[alias] = rollback_target([e for e in history if e.alias == alias])
        except MloopError:
            continue
    return targets


def registry_page(
    client: Client, name: str, version: int | None, importance: ImportanceCache
) -> dict[str, Any]:
    """The registry page of model ``name`` with version ``version`` (default: the champion, else
    the newest) opened. Raises NotFound for an unknown model or version."""
    model = next((m for m in client.registry.list_models() if m.name == name), None)
    if model is None:
        raise NotFound(f"no registered model named {name!r}", field="model")
    versions = client.registry.list_model_versions(name)[:MAX_VERSIONS]
    runs = {v.version: _run_or_none(client, v) for v in versions}
    chosen = version or model.aliases.get("champion") or model.latest_version
    lineage = client.registry.lineage(name, chosen)
    history = client.registry.alias_history(name)
    found = importance.get(client, name, chosen)
    return {
        "model": model,
        "versions": versions,
        "runs": runs,
        "chosen": chosen,
        "lineage": lineage,
        "history": list(reversed(history)),
        "after_event": {
            alias: max(e.id for e in history if e.alias == alias)
            for alias in {e.alias for e in history}
        },
        "rollback_targets": _rollback_targets(history),
        "importance": found,
        "charts": [
            _across_versions(versions, runs),
            Chart(
                "importance",
                f"Feature importance of v{chosen}" + (f": {found.source}" if found.source else ""),
                found.problem or "No importance could be measured for this version.",
                bars(list(found.names), list(found.values), "importance"),
            ),
        ],
    }
