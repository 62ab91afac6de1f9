"""The dashboard in headless Chromium against a real ``mloop server`` on a filled store.

Every page loads at 1280 px with no console error, no failed script and no request leaving
127.0.0.1, and is saved as a screenshot in ``test-artifacts/screenshots``; then the click path
a person takes through the loop works end to end.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import SCREENSHOTS, Site

PAGES = {
    "home": "/",
    "runs": "/runs",
    "compare": None,
    "registry": "/registry?model=churn&evaluate=true",
    "rollouts": "/rollouts?model=churn",
    "monitoring": "/monitoring?model=churn",
    "retraining": "/retraining?model=churn",
    "service": "/service",
}


class Watched:
    """A page with its console errors, page errors and every requested URL recorded."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))

    def open(self, url: str) -> None:
        """Go to ``url`` and wait until its charts are drawn."""
        self.page.goto(url, wait_until="load")
        self.page.wait_for_function(
            "[...document.querySelectorAll('.chart')].every(c => c.querySelector('.main-svg'))"
        )


@pytest.fixture
def watched(browser: Any) -> Iterator[Watched]:
    """A fresh 1280 x 900 page in its own context."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    yield Watched(context.new_page())
    context.close()


def test_every_page_loads_clean_and_local(watched: Watched, site: Site) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    runs = list(site.filled.runs.values())
    for name, path in PAGES.items():
        watched.open(site.url + (path or f"/runs/compare?ids={runs[0]}&ids={runs[1]}"))
        page = watched.page
        assert page.locator("main h1").count() == 1, name
        assert page.locator(".banner.error").count() == 0, name
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 1280, f"{name} is {width} px wide"
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
    assert watched.errors == []
    foreign = [u for u in watched.requests if not u.startswith(site.url + "/")]
    assert foreign == []
    assert sum(u.endswith("/static/plotly.min.js") for u in watched.requests) >= 1


def test_a_person_walks_the_loop(watched: Watched, site: Site) -> None:
    page = watched.page
    # filter and sort runs
    watched.open(f"{site.url}/runs")
    page.fill("#filter-input", "metrics.f1 > 0 and params.model != 'gradient_boosting'")
    page.click("#apply-filter")
    page.wait_for_load_state("load")
    assert page.locator("#runs-table tbody tr[data-run]").count() == 2
    page.click("#runs-table thead a[data-sort='metrics.f1']")
    page.wait_for_load_state("load")
    f1 = [
        float(t) for t in page.locator("#runs-table tbody tr td.num:nth-child(7)").all_inner_texts()
    ]
    assert "metrics.f1" in page.url and len(f1) == 2 and f1 == sorted(f1, reverse=True)
    # compare two runs
    boxes = page.locator("#runs-table tbody input[type=checkbox]")
    boxes.nth(0).check()
    boxes.nth(1).check()
    page.click("#compare-button")
    watched.open(page.url)
    assert page.locator("#compare-table thead th").count() == 3
    assert page.locator("#panel-curve-0 .main-svg").count() >= 1  # the loss history
    # open a drifted feature
    watched.open(f"{site.url}/monitoring?model=churn")
    drifted = page.locator("#drift-table tr.drifted a").first
    feature = drifted.inner_text()
    assert feature in site.filled.shifted
    drifted.click()
    watched.open(page.url)
    assert feature in page.locator("#panel-histogram figcaption").inner_text()
    assert page.locator("#panel-histogram .main-svg").count() >= 1
    # acknowledge an alert
    row = page.locator("#alerts-table tr[data-alert]").filter(has_text="open").first
    alert_id = row.get_attribute("data-alert")
    row.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state("load")
    status = page.locator(f"#alerts-table tr[data-alert='{alert_id}'] .alert-status")
    status.filter(has_text="acknowledged").wait_for()
    # read a gate report
    watched.open(f"{site.url}/retraining?model=churn")
    report = page.locator("table.gate-report").first
    caption = report.locator("caption").inner_text()
    assert re.search(r"Gate report: (PASSED|FAILED) on \d+ holdout rows", caption), caption
    assert "f1 (primary)" in report.inner_text() and "accuracy (guardrail)" in report.inner_text()
    # roll the champion back through the confirmation
    watched.open(f"{site.url}/registry?model=churn")
    page.click("#aliases button[data-action=rollback]")
    dialog = page.locator("dialog#confirm")
    assert dialog.is_visible() and "back from v2 to v1" in dialog.inner_text()
    page.click("#confirm-ok")  # no reason: refused in the dialog
    assert dialog.is_visible()
    page.fill("#confirm-reason", "the canary's customers complained")
    page.click("#confirm-ok")
    newest = page.locator("#alias-history tbody tr").first
    newest.filter(has_text="rollback").wait_for()
    assert "the canary's customers complained" in newest.inner_text()
    assert page.locator("#aliases tr[data-alias=champion] td").nth(1).inner_text() == "v1"
    assert watched.errors == []
