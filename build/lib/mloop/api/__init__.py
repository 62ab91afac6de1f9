"""The mloop server's REST API (``/api/v1``): the whole loop over HTTP for remote clients."""

from __future__ import annotations

from mloop.api.app import API, BackgroundJob, create_api

__all__ = ["API", "BackgroundJob", "create_api"]
