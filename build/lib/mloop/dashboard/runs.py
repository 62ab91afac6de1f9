"""The experiments and runs pages: a paged, sorted, filtered runs table, and run comparison.

Paging, sorting and filtering happen in the store (the filter language of
``mloop.store.filters``); a page reads at most ``(page + 1) * size + 1`` runs. Metric curves
with long histories are down-sampled by the store before they reach the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from mloop.client import Client
from mloop.dashboard.charts import MAX_POINTS, Chart, bars, heatmap, layout, lines
from mloop.entities import Metric, Run
from mloop.errors import InvalidInput

PAGE_SIZES = (25, 50, 100, 200)
MAX_COLUMNS = 8
MAX_COMPARED = 8
MAX_CURVES = 12


@dataclass(frozen=True)
class RunsQuery:
    """What the runs table shows: experiment (None: all), filter, ordering, page and size."""

    experiment: str | None = None
    filter: str = ""
    order: str = "attributes.start_time DESC"
    page: int = 0
    size: int = 50

    def link(self, **changes: Any) -> str:
        """The URL of the runs page with ``changes`` applied to this query."""
        values = {**self.__dict__, **changes}
        kept = {k: v for k, v in values.items() if v not in (None, "")}
        return "/runs?" + urlencode(kept)

    def sort_link(self, column: str) -> str:
        """The URL that sorts by ``column``: descending first, ascending when already so."""
        direction = "ASC" if self.order == f"{column} DESC" else "DESC"
        return self.link(order=f"{column} {direction}", page=0)


def checked_query(
    experiment: str | None, filter: str, order: str, page: int, size: int
) -> RunsQuery:
    """A runs query with its page and size checked; InvalidInput names a bad field."""
    if page < 0:
        raise InvalidInput("page must be 0 or more", field="page")
    if size not in PAGE_SIZES:
        raise InvalidInput(f"size must be one of {list(PAGE_SIZES)}", field="size")
    return RunsQuery(experiment or None, filter.strip(), order.strip(), page, size)


def _columns(runs: Sequence[Run], kind: str) -> list[str]:
    keys: dict[str, None] = {}
    for run in runs:
        keys.update(dict.fromkeys(sorted(getattr(run, kind))))
    return list(keys)[:MAX_COLUMNS]


def _primary_metric(query: RunsQuery, metrics: list[str]) -> str | None:
    key = query.order.split(" ")[0]
    if key.startswith("metrics."):
        return key.removeprefix("metrics.")
    return metrics[0] if metrics else None


def _charts(runs: Sequence[Run], metrics: list[str], primary: str | None) -> list[Chart]:
    labelled = [r for r in runs if primary is not None and primary in r.metrics]
    comparison = bars(
        [f"{r.name} ({r.id[:6]})" for r in labelled],
        [r.metrics[primary] for r in labelled if primary],
        primary or "",
    )
    shown = [r for r in runs if r.metrics][:30]
    grid = heatmap(
        [f"{r.name} ({r.id[:6]})" for r in shown],
        metrics,
        [[r.metrics.get(m) for m in metrics] for r in shown],
    )
    return [
        Chart(
            "experiment-comparison",
            f"Runs on this page by {primary or 'a metric'}",
            "No run on this page logged a metric yet.",
            comparison,
        ),
        Chart(
            "metric-heatmap",
            "Runs x metrics (colour scaled per metric, value written in each cell)",
            "No run on this page logged a metric yet.",
            grid,
            height=max(260, 28 * len(shown) + 80),
        ),
    ]


def runs_page(client: Client, query: RunsQuery) -> dict[str, Any]:
    """The runs page's values: the page of runs, its columns, whether more follow, charts.

    A malformed filter or order gives no runs and ``problem`` (the InvalidInput saying what is
    wrong), so the form stays on screen to fix it. Raises NotFound for an unknown experiment.
    """
    wanted = (query.page + 1) * query.size + 1
    order = [query.order] if query.order else []
    problem = None
    try:
        found = client.tracking.search_runs(query.experiment, query.filter or None, order, wanted)
    except InvalidInput as exc:
        found, problem = [], exc
    runs = found[query.page * query.size : (query.page + 1) * query.size]
    metrics, params = _columns(runs, "metrics"), _columns(runs, "params")
    experiments = client.tracking.list_experiments()
    names = {e.id: e.name for e, _ in experiments}
    return {
        "query": query,
        "runs": runs,
        "experiment_names": names,
        "experiments": experiments,
        "metrics": metrics,
        "params": params,
        "has_next": len(found) > (query.page + 1) * query.size,
        "first_row": query.page * query.size + 1,
        "sizes": PAGE_SIZES,
        "charts": _charts(runs, metrics, _primary_metric(query, metrics)),
        "problem": problem,
    }


def _final_values(runs: Sequence[Run], keys: list[str]) -> Chart:
    data = [
        {
            "type": "bar",
            "name": f"{r.name} ({r.id[:6]})",
            "x": keys,
            "y": [r.metrics.get(k) for k in keys],
        }
        for r in runs
    ]
    figure = {"data": data, "layout": layout("value", barmode="group")} if keys else None
    return Chart(
        "final-values", "Metrics logged once, side by side", "No single-value metric.", figure
    )


def _curves(client: Client, runs: Sequence[Run]) -> list[Chart]:
    keys = list(dict.fromkeys(k for r in runs for k in sorted(r.metrics)))
    histories = {key: [_sampled(client, r, key) for r in runs] for key in keys}
    single = [k for k in keys if max(total for _, total in histories[k]) <= 1]
    charts = [_final_values(runs, single)] if single else []
    for index, key in enumerate([k for k in keys if k not in single][:MAX_CURVES]):
        series = [
            (f"{run.name} ({run.id[:6]})", [m.step for m in points], [m.value for m in points])
            for run, (points, _) in zip(runs, histories[key], strict=True)
        ]
        longest = max(total for _, total in histories[key])
        shown = max(len(points) for points, _ in histories[key])
        note = f"{longest:,} points down-sampled to {shown:,}" if longest > shown else ""
        figure = lines(series, key, "step")
        if figure is not None and shown > 50:
            for trace in figure["data"]:
                trace["mode"] = "lines"
        charts.append(Chart(f"curve-{index}", key, f"No history of {key} yet.", figure, note))
    return charts


def _sampled(client: Client, run: Run, key: str) -> tuple[list[Metric], int]:
    if key not in run.metrics:
        return [], 0
    return client.tracking.sample_metric_history(run.id, key, MAX_POINTS)


def compare_page(client: Client, run_ids: Sequence[str]) -> dict[str, Any]:
    """Runs side by side: params (differences marked), metrics and one curve chart per metric.

    Raises InvalidInput (field ``ids``) for no run or more than ``MAX_COMPARED``, NotFound for
    an unknown run id.
    """
    ids = [i for i in dict.fromkeys(run_ids) if i]
    if not ids or len(ids) > MAX_COMPARED:
        raise InvalidInput(f"choose 1 to {MAX_COMPARED} runs to compare", field="ids")
    runs = [client.tracking.get_run(client.tracking.resolve_run_id(i)) for i in ids]
    params = sorted({k for r in runs for k in r.params})
    metrics = sorted({k for r in runs for k in r.metrics})
    differs = {k for k in params if len({r.params.get(k) for r in runs}) > 1}
    return {
        "runs": runs,
        "params": params,
        "metrics": metrics,
        "differs": differs,
        "curves": _curves(client, runs),
    }
