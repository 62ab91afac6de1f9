"""Turning a page's values into HTML: the Jinja2 templates, their filters and the headers.

Every page is sent with a Content-Security-Policy that lets it load scripts, styles, images and
data from this server only, and runs no inline script (chart figures travel as inert JSON
blocks the page's script reads). Inline styles are allowed: plotly.js styles the charts it
draws through style elements and attributes.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from mloop import __version__
from mloop.dashboard.charts import widen_time_axis
from mloop.web import finite

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)
HEADERS = {
    "content-security-policy": CSP,
    "x-frame-options": "DENY",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}
PAGES = (
    ("home", "/", "Home"),
    ("runs", "/runs", "Experiments & runs"),
    ("registry", "/registry", "Registry"),
    ("rollouts", "/rollouts", "Rollouts"),
    ("monitoring", "/monitoring", "Monitoring"),
    ("retraining", "/retraining", "Retraining"),
    ("service", "/service", "Service"),
)


def moment(epoch: float | None) -> str:
    """Epoch seconds as ``2026-11-30 17:06:14 UTC``; an em dash for none."""
    if epoch is None:
        return "—"
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def number(value: Any, digits: int = 4) -> str:
    """A number with ``digits`` significant digits; an em dash for None or NaN."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:.{digits}g}"


def percent(value: Any) -> str:
    """A share (0-1) as a percentage with one decimal; an em dash for None."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{100 * float(value):.1f}%"


def figure_json(figure: Any) -> Markup:
    """A figure as JSON safe inside a ``<script type="application/json">`` block."""
    widened = widen_time_axis(figure) if isinstance(figure, dict) else figure
    text = json.dumps(finite(widened), allow_nan=False, default=str)
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))


@cache
def environment() -> Environment:
    """The templates of ``mloop.dashboard`` with autoescaping and the page filters."""
    env = Environment(
        loader=PackageLoader("mloop.dashboard", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(moment=moment, number=number, percent=percent, figure_json=figure_json)
    env.globals.update(pages=PAGES, version=__version__)
    return env


def render(template: str, **values: Any) -> str:
    """The HTML of ``template`` (a file of ``templates/``) filled with ``values``."""
    return environment().get_template(template).render(**values)
