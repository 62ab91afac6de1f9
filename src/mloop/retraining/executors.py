"""Where candidate trainings run: in this process, or on Dask (a local cluster or a scheduler).

An executor is one method, ``map``: run a function over items and return the results in
order, calling ``progress`` after each finished item. Dask is imported only here.
"""

from __future__ import annotations

import importlib.util
import logging
import multiprocessing
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from mloop.errors import InvalidInput
from mloop.retraining.recipe import CandidateJob

Progress = Callable[[int], None]
CONNECT_SECONDS = 10.0


class Executor(Protocol):
    """Runs independent tasks and gives their results back in order."""

    def map(
        self,
        task: Callable[[Any], Any],
        items: Sequence[Any],
        progress: Progress | None = None,
    ) -> list[Any]:
        """``[task(item) for item in items]``; the first task error is raised."""
        ...


class LocalExecutor:
    """Runs tasks one after another in this process."""

    def map(
        self,
        task: Callable[[Any], Any],
        items: Sequence[Any],
        progress: Progress | None = None,
    ) -> list[Any]:
        """``[task(item) for item in items]``, calling ``progress(done)`` after each."""
        results = []
        for done, item in enumerate(items, 1):
            results.append(task(item))
            if progress is not None:
                progress(done)
        return results


class DaskExecutor:
    """Runs tasks on ``dask.distributed``: the scheduler at ``address``, or a LocalCluster.

    A local cluster has ``workers`` single-threaded worker processes and lives for one
    ``map``. Its workers are forked from a fresh "forkserver" process that has imported the
    task's module (never from this process, whose threads and connections a fork would copy),
    so they start without importing numpy, pandas and mloop each and stop at once. A scheduler
    must answer within ``connect_seconds``. ``map`` raises InvalidInput when the ``dask`` extra
    is not installed (field ``executor``) or the scheduler cannot be reached (field
    ``dask_address``).
    """

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int = 2,
        connect_seconds: float = CONNECT_SECONDS,
    ) -> None:
        self.address = address
        self.workers = workers
        self.connect_seconds = connect_seconds

    def map(
        self,
        task: Callable[[Any], Any],
        items: Sequence[Any],
        progress: Progress | None = None,
    ) -> list[Any]:
        """``[task(item) for item in items]`` on Dask workers, in item order."""
        distributed = _distributed()
        if self.address is not None:
            with _connect(distributed, self.address, self.connect_seconds) as client:
                return _gather(client, distributed, task, items, progress)
        with _forked_workers(_modules(task, items)):
            cluster = distributed.LocalCluster(
                n_workers=self.workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
                host="127.0.0.1",
                silence_logs=logging.CRITICAL,
            )
        with cluster, distributed.Client(cluster) as client:
            return _gather(client, distributed, task, items, progress)


def _modules(task: Callable[[Any], Any], items: Sequence[Any]) -> list[str]:
    """The modules a task needs: its own, and the recipes' modules of candidate jobs."""
    recipes = {item.recipe.partition(":")[0] for item in items if isinstance(item, CandidateJob)}
    return [task.__module__, *sorted(recipes)]


def _forked_workers(modules: list[str]) -> Any:
    """Dask's setting for workers started from the forkserver, which imports ``modules`` first.

    The preload takes effect when the forkserver starts (once per process); modules that
    cannot be found here are left for the workers to import.
    """
    import dask

    found = [name for name in modules if importlib.util.find_spec(name.partition(".")[0])]
    multiprocessing.get_context("forkserver").set_forkserver_preload(found)
    return dask.config.set({"distributed.worker.multiprocessing-method": "forkserver"})


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise InvalidInput(
            "the dask executor needs the dask extra: pip install 'mloop[dask]'", field="executor"
        ) from exc
    return distributed


def _connect(distributed: Any, address: str, seconds: float) -> Any:
    """A client of the scheduler at ``address``; InvalidInput (field ``dask_address``) when
    the address is malformed or nothing answers there within ``seconds``."""
    try:
        return distributed.Client(address, timeout=seconds)
    except (OSError, ValueError) as exc:
        raise InvalidInput(
            f"the Dask scheduler at {address} cannot be reached: {exc}", field="dask_address"
        ) from exc


def _gather(
    client: Any,
    distributed: Any,
    task: Callable[[Any], Any],
    items: Sequence[Any],
    progress: Progress | None,
) -> list[Any]:
    futures = [client.submit(task, item, pure=False) for item in items]
    for done, future in enumerate(distributed.as_completed(futures), 1):
        future.result()
        if progress is not None:
            progress(done)
    return [future.result() for future in futures]


def executor_for(name: str, address: str | None = None) -> Executor:
    """The executor a policy names: ``local`` or ``dask``; InvalidInput for another name."""
    if name == "local":
        return LocalExecutor()
    if name == "dask":
        return DaskExecutor(address)
    raise InvalidInput(f"executor {name!r} is not one of local, dask", field="executor")
