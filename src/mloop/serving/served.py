"""The models a server answers with: one slot per arm, each following its alias live."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from mloop.client import Client
from mloop.errors import Conflict, MloopError, NotFound, NotReady
from mloop.modelio.loaded import LoadedModel
from mloop.modelio.outputs import Outputs, Predictor, finite_outputs, split_outputs
from mloop.modelio.rows import Rows
from mloop.modelio.signature import Signature
from mloop.serving.batching import MicroBatcher
from mloop.serving.config import ServeConfig
from mloop.uris import ModelUri

logger = logging.getLogger("mloop.serving")
RETIRE_AFTER_SECONDS = 30.0


@dataclass
class ServedModel:
    """One loaded model version of an arm, with its batcher; requests hold on to it until done."""

    model: LoadedModel
    arm: str = ""
    batcher: MicroBatcher | None = None

    @property
    def name(self) -> str:
        """The registered model name."""
        return self.model.name

    @property
    def version(self) -> int:
        """The registered version number (0 for a model loaded from a run)."""
        return self.model.version or 0

    @property
    def signature(self) -> Signature:
        """The model's input signature."""
        return self.model.signature

    @cached_property
    def predictor(self) -> Predictor:
        """The estimator's outputs per batch of rows, with its classes looked up once."""
        return Predictor(self.model.estimator, self.signature)

    def predict(self, rows: Rows) -> Outputs:
        """The predictor's outputs, refused (ValueError) when one is NaN or infinite, so a
        request the model cannot answer fails alone and is not logged (``finite_outputs``)."""
        return finite_outputs(self.predictor, rows)

    async def infer(self, rows: Rows, tag: Any = None) -> Outputs:
        """Predict validated rows, batched with concurrent requests when batching is on."""
        if self.batcher is not None:
            result: Outputs = await self.batcher.submit(rows, tag)
            return result
        return self.predict(rows)

    def close(self) -> None:
        """Release the batcher's task and thread."""
        if self.batcher is not None:
            self.batcher.close()


ServedBatchHook = Callable[["ServedModel", Rows, Outputs, list[Any]], None]


def serve_model(
    model: LoadedModel,
    config: ServeConfig,
    on_batch: ServedBatchHook | None,
    arm: str = "",
    turn: asyncio.Lock | None = None,
) -> ServedModel:
    """Wrap a loaded model for ``arm``, with a micro-batcher when batching is on.

    Models sharing a ``turn`` (the arms of one server) are called one at a time.
    """
    served = ServedModel(model, arm)
    if config.batching:
        hook = None if on_batch is None else lambda m, o, tags: on_batch(served, m, o, tags)
        served.batcher = MicroBatcher(
            served.predict,
            split_outputs,
            max_rows=config.batch_max_rows,
            max_wait_ms=config.batch_max_wait_ms,
            on_batch=hook,
            turn=turn,
        )
    return served


class ModelSlot:
    """The model version one arm serves; for an alias URI, swaps in the alias's new target."""

    def __init__(
        self,
        client: Client,
        config: ServeConfig,
        arm: str,
        model_uri: str,
        on_batch: ServedBatchHook | None = None,
        turn: asyncio.Lock | None = None,
    ) -> None:
        self.arm = arm
        self.model_uri = model_uri
        self._client = client
        self._config = config
        self._on_batch = on_batch
        self._turn = turn
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

    def put(self, loaded: LoadedModel) -> ServedModel | None:
        """Serve ``loaded`` from now on; returns the model it replaces (None for the first)."""
        previous = self._current
        self._current = serve_model(loaded, self._config, self._on_batch, self.arm, self._turn)
        return previous

    async def start(self) -> None:
        """Load the model in a worker thread, then follow its alias if it has one."""
        self.put(await asyncio.to_thread(self._client.registry.load_model, self.model_uri))
        if ModelUri.parse(self.model_uri).follows_alias and self._config.poll_seconds > 0:
            self._follower = asyncio.get_running_loop().create_task(self._follow())

    async def _follow(self) -> None:
        while True:
            await asyncio.sleep(self._config.poll_seconds)
            try:
                await self.refresh()
            except MloopError as exc:
                logger.warning("could not follow %s: %s", self.model_uri, exc)
            except Exception:
                logger.exception("could not follow %s", self.model_uri)

    async def refresh(self) -> bool:
        """Check the alias now; load and switch to its version if it moved. True if swapped."""
        target = await asyncio.to_thread(self._client.registry.resolve, self.model_uri)
        if self._current is not None and target.version == self._current.version:
            return False
        uri = ModelUri.of_version(target.name, target.version)
        previous = self.put(await asyncio.to_thread(self._client.registry.load_model, uri))
        who = f"arm {self.arm!r}" if self.arm else "the server"
        logger.info("%s now serves %s version %s", who, target.name, target.version)
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

    def retire(self) -> None:
        """Stop following the alias; release the model once requests on it have finished."""
        if self._follower is not None:
            self._follower.cancel()
        if self._current is not None:
            task = asyncio.get_running_loop().create_task(_retire(self._current))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)


class ModelSlots:
    """The model versions one server holds at once: one slot per arm, loaded at start-up.

    The arms take turns calling their models (one shared turn), so a second arm does not halve
    every batch.
    """

    def __init__(
        self, client: Client, config: ServeConfig, on_batch: ServedBatchHook | None = None
    ) -> None:
        self._client = client
        self._config = config
        self._on_batch = on_batch
        self._slots: dict[str, ModelSlot] = {}
        self._retired: list[ModelSlot] = []
        self._turn = asyncio.Lock()

    def add(self, arm: str, model_uri: str) -> ModelSlot:
        """A slot that serves ``model_uri`` as ``arm``; raises Conflict if the arm has one."""
        if arm in self._slots:
            raise Conflict(f"arm {arm!r} already has a model", field="arm")
        slot = ModelSlot(self._client, self._config, arm, model_uri, self._on_batch, self._turn)
        self._slots[arm] = slot
        return slot

    @property
    def client(self) -> Client:
        """The client the slots load models with."""
        return self._client

    async def load(self, arm: str, model_uri: str) -> ModelSlot:
        """Load ``model_uri`` for ``arm`` while serving, then add it (readiness never drops).

        Raises Conflict if the arm has a slot, and what loading the model raises.
        """
        if arm in self._slots:
            raise Conflict(f"arm {arm!r} already has a model", field="arm")
        slot = ModelSlot(self._client, self._config, arm, model_uri, self._on_batch, self._turn)
        await slot.start()
        self._slots[arm] = slot
        return slot

    def remove(self, arm: str) -> None:
        """Stop serving ``arm``; its model is released once requests on it have finished."""
        slot = self._slots.pop(arm)
        slot.retire()
        self._retired.append(slot)

    def __getitem__(self, arm: str) -> ModelSlot:
        return self._slots[arm]

    @property
    def ready(self) -> bool:
        """Whether every arm has a model loaded."""
        return bool(self._slots) and all(slot.ready for slot in self._slots.values())

    def find(self, name: str, version: str | None) -> ServedModel:
        """The loaded model named ``name`` (at ``version`` when given), first arm first.

        Raises NotReady before the models load, NotFound when no arm serves that model.
        """
        served = [slot.current for slot in self._slots.values()]
        for model in served:
            if model.name == name and (version is None or version == str(model.version)):
                return model
        wanted = f"{name} version {version}" if version else name
        here = ", ".join(f"{m.name} version {m.version}" for m in served)
        raise NotFound(f"model {wanted} is not served here; this server serves {here}")

    async def start(self) -> None:
        """Load every arm's model."""
        await asyncio.gather(*(slot.start() for slot in self._slots.values()))

    async def stop(self) -> None:
        """Stop following aliases and release every model."""
        for slot in [*self._slots.values(), *self._retired]:
            await slot.stop()


async def _retire(model: ServedModel) -> None:
    """Close a replaced model once the requests that started on it have had time to finish."""
    await asyncio.sleep(RETIRE_AFTER_SECONDS)
    model.close()
