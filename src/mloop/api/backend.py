"""What every route of the API works on: the store, the artifact store and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Annotated

from fastapi import Depends, Request

from mloop.artifacts import ArtifactStore
from mloop.client import Client
from mloop.config import Settings
from mloop.errors import NotFound
from mloop.store import Store


@dataclass
class Backend:
    """The store, the server's artifact store and settings."""

    store: Store
    artifacts: ArtifactStore
    settings: Settings

    @cached_property
    def client(self) -> Client:
        """A client on this store and artifact root: the services that check what routes get."""
        return Client(
            settings=self.settings, store=self.store, artifacts_url=self.settings.artifacts_url
        )

    def require_blob(self, digest: str) -> None:
        """Return if the artifact store holds this blob; NotFound (naming ``digest``) if not."""
        if not self.artifacts.exists(digest):
            raise NotFound(f"blob {digest} is not on this server; upload it first", field="digest")


def backend(request: Request) -> Backend:
    """The backend of the app serving this request."""
    found: Backend = request.app.state.backend
    return found


Served = Annotated[Backend, Depends(backend)]
