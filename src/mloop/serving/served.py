"""The model a server answers with, and the slot that follows an alias to swap it live."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from mloop.client import Client
from mloop.errors import MloopError, NotReady
from mloop.modelio.loaded import LoadedModel
from mloop.modelio.outputs import Outputs, predict_outputs, split_outputs
from mloop.serving.batching import MicroBatcher
from mloop.serving.config import ServeConfig
from mloop.uris import ModelUri

logger = logging.getLogger("mloop.serving")
RETIRE_AFTER_SECONDS = 30.0


@dataclass
class ServedModel:
    """One loaded model version with its batcher; requests hold on to it until they finish."""

    model: LoadedModel
    batcher: MicroBatcher | None = None
    inputs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def name(self) -> str:
        """The registered model name."""
        return self.model.name

    @property
    def version(self) -> int:
        """The registered version number (0 for a model loaded from a run)."""
        return self.model.version or 0

    @property
    def signature(self) -> dict[str, Any]:
        """The model's input signature."""
        return self.model.signature

    async def infer(self, frame: pd.DataFrame, tag: Any = None) -> Outputs:
        """Predict a validated frame, batched with concurrent requests when batching is on."""
        if self.batcher is not None:
            result: Outputs = await self.batcher.submit(frame, tag)
            return result
        return predict_outputs(self.model.estimator, frame)

    def close(self) -> None:
        """Release the batcher's task and thread."""
        if self.batcher is not None:
            self.batcher.close()


ServedBatchHook = Callable[["ServedModel", pd.DataFrame, Outputs, list[Any]], None]


def serve_model(
    model: LoadedModel, config: ServeConfig, on_batch: ServedBatchHook | None
) -> ServedModel:
    """Wrap a loaded model for serving, with a micro-batcher when batching is on."""
    served = ServedModel(model, None, list(model.signature.get("inputs", [])))
    if config.batching:
        estimator = model.estimator
        hook = None if on_batch is None else lambda m, o, tags: on_batch(served, m, o, tags)
        served.batcher = MicroBatcher(
            lambda frame: predict_outputs(estimator, frame),
            split_outputs,
            max_rows=config.batch_max_rows,
            max_wait_ms=config.batch_max_wait_ms,
            on_batch=hook,
        )
    return served


class ModelSlot:
    """Holds the model being served and, for an alias URI, swaps in the alias's new target."""

    def __init__(
        self, client: Client, config: ServeConfig, on_batch: ServedBatchHook | None = None
    ) -> None:
        self._client = client
        self._config = config
        self._on_batch = on_batch
        self._current: ServedModel | None = None
        self._follower: asyncio.Task[None] | None = None
        self._retiring: set[asyncio.Task[None]] = set()

    @property
    def current(self) -> ServedModel:
        """The model new requests use; raises NotReady before the first load."""
        if self._current is None:
            raise NotReady("no model is loaded yet")
        return self._current

    @property
    def ready(self) -> bool:
        """Whether a model is loaded."""
        return self._current is not None

    async def start(self) -> None:
        """Load the model in a worker thread, then follow its alias if it has one."""
        loaded = await asyncio.to_thread(self._client.registry.load_model, self._config.model_uri)
        self._current = serve_model(loaded, self._config, self._on_batch)
        if ModelUri.parse(self._config.model_uri).follows_alias and self._config.poll_seconds > 0:
            self._follower = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self._config.poll_seconds)
            try:
                await self.refresh()
            except MloopError as exc:
                logger.warning("could not follow %s: %s", self._config.model_uri, exc)
            except Exception:
                logger.exception("could not follow %s", self._config.model_uri)

    async def refresh(self) -> bool:
        """Check the alias now; load and switch to its version if it moved. True if swapped."""
        target = await asyncio.to_thread(self._client.registry.resolve, self._config.model_uri)
        if self._current is not None and target.version == self._current.version:
            return False
        uri = ModelUri.of_version(target.name, target.version)
        loaded = await asyncio.to_thread(self._client.registry.load_model, uri)
        previous, self._current = self._current, serve_model(loaded, self._config, self._on_batch)
        logger.info("now serving %s version %s", target.name, target.version)
        if previous is not None:
            task = asyncio.get_running_loop().create_task(_retire(previous))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
        return True

    async def stop(self) -> None:
        """Stop following the alias and release the served model."""
        if self._follower is not None:
            self._follower.cancel()
        if self._current is not None:
            self._current.close()


async def _retire(model: ServedModel) -> None:
    """Close a replaced model once the requests that started on it have had time to finish."""
    await asyncio.sleep(RETIRE_AFTER_SECONDS)
    model.close()
