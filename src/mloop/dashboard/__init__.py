"""The web dashboard of ``mloop server``: server-rendered pages over the services, charts drawn
by the plotly.js of the installed ``plotly`` package, no asset from another host."""

from mloop.dashboard.app import Dashboard, dashboard_router

__all__ = ["Dashboard", "dashboard_router"]
