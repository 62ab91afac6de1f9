"""Static reports: an HTML drift report with histogram overlays, self-contained (no CDN)."""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path
from typing import Any

import numpy as np

from mloop.profiles import CategoricalProfile, ColumnProfile, NumericProfile, proportions

DISPLAY_BINS = 30
STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d2433; }
table { border-collapse: collapse; margin: 1rem 0; }
th, td { padding: .3rem .7rem; border-bottom: 1px solid #dde; text-align: left; }
tr.drifted td { background: #fdecea; }
.verdict { font-size: 1.2rem; font-weight: 600; }
figure { display: inline-block; margin: .5rem; }
"""


def _coarse(column: NumericProfile) -> tuple[np.ndarray, np.ndarray]:
    """The fine reference bins regrouped into about DISPLAY_BINS bars: (edges, shares)."""
    edges = np.asarray(column.edges, dtype=np.float64)
    if len(edges) < 2:
        center = float(edges[0]) if len(edges) else 0.0
        return np.array([center - 0.5, center + 0.5]), np.array([proportions(column).sum()])
    shares = proportions(column)[1:-1]
    step = max(1, int(np.ceil((len(edges) - 1) / DISPLAY_BINS)))
    picks = np.r_[np.arange(0, len(edges) - 1, step), len(edges) - 1]
    return edges[picks], np.add.reduceat(shares, picks[:-1])


def _figure(reference: ColumnProfile, current: ColumnProfile) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(5.2, 2.8))
    if isinstance(reference, NumericProfile) and isinstance(current, NumericProfile):
        edges, ref_shares = _coarse(reference)
        _, cur_shares = _coarse(current)
        widths = np.diff(edges)
        for shares, label in ((ref_shares, "reference"), (cur_shares, "current")):
            density = shares / np.where(widths > 0, widths, 1.0)
            axis.bar(edges[:-1], density, width=widths, align="edge", alpha=0.5, label=label)
        axis.set_ylabel("density")
    elif isinstance(reference, CategoricalProfile) and isinstance(current, CategoricalProfile):
        labels = [*reference.frequencies, "unseen"]
        positions = np.arange(len(labels))
        axis.bar(positions - 0.2, proportions(reference), width=0.4, label="reference")
        axis.bar(positions + 0.2, proportions(current), width=0.4, label="current")
        axis.set_xticks(positions, labels, rotation=30, ha="right", fontsize=8)
    axis.set_title(reference.name)
    if not axis.get_ylabel():
        axis.set_ylabel("share")
    axis.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90)
    plt.close(figure)
    return base64.b64encode(buffer.getvalue()).decode()


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return "" if np.isnan(value) else f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(map(str, value[:5]))
    return html.escape("" if value is None else str(value))


def drift_report_html(
    title: str,
    table_rows: list[dict[str, Any]],
    summary: dict[str, Any],
    reference: dict[str, ColumnProfile],
    current: dict[str, ColumnProfile],
) -> str:
    """A self-contained HTML page: verdict, per-column table, overlays of drifted columns."""
    headers = ["column", "kind", "method", "statistic", "p_value", "threshold", "drifted",
               "current_missing", "out_of_range", "unseen"]  # fmt: skip
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join(
        f'<tr class="{"drifted" if row["drifted"] else ""}">'
        + "".join(f"<td>{_cell(row.get(h))}</td>" for h in headers)
        + "</tr>"
        for row in table_rows
    )
    figures = "".join(
        f'<figure><img alt="{html.escape(name)}" '
        f'src="data:image/png;base64,{_figure(reference[name], current[name])}"></figure>'
        for name in (row["column"] for row in table_rows if row["drifted"])
        if name in reference and name in current
    )
    verdict = "Dataset drift" if summary.get("dataset_drift") else "No dataset drift"
    share = summary.get("share_drifted", 0.0)
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
        f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1>"
        f"<p class='verdict'>{verdict}: {share:.0%} of columns drifted "
        f"({summary.get('n_current', 0)} rows against {summary.get('n_reference', 0)})</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        f"<h2>Drifted columns</h2>{figures or '<p>none</p>'}</body></html>"
    )


def write_report(path: Path, page: str) -> Path:
    """Write a report page, creating its folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
