"""Running the model server under uvicorn, with TCP_NODELAY on every connection."""

from __future__ import annotations

import asyncio
import contextlib
import logging.config
import os
import signal
import socket
import tempfile
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from mloop.config import Settings
from mloop.errors import Conflict, InvalidInput
from mloop.serving.config import ServeConfig, share_with_workers
from mloop.serving.telemetry import MULTIPROCESS_VARIABLE


class NoDelayProtocol(HttpToolsProtocol):
    """uvicorn's HTTP protocol, with Nagle's algorithm off so small answers leave at once.

    Sockets that worker processes inherit do not always get TCP_NODELAY from asyncio; without
    it a kept-alive client can stall on delayed ACKs for tens of milliseconds per request.
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Set TCP_NODELAY, then hand over to uvicorn."""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


LOGGERS = ("mloop.access", "mloop.serving", "mloop.serving.log", "mloop.monitoring", "mloop.alerts")
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error")


def logging_config(level: str = "INFO") -> dict[str, Any]:
    """The ``logging.config`` dict of a server process: one line per record on stderr.

    uvicorn applies it in every worker process it starts, so each worker writes its own access
    lines (JSON) and messages (plain); uvicorn's own loggers keep its warnings.
    """
    stderr = {"handlers": ["stderr"], "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"line": {"format": "%(message)s"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "line",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            **{name: {**stderr, "level": level} for name in LOGGERS},
            **{name: {**stderr, "level": "WARNING"} for name in UVICORN_LOGGERS},
        },
    }


WORKER_HEALTHCHECK_SECONDS = 60


def uvicorn_options(config: ServeConfig) -> dict[str, Any]:
    """The uvicorn settings a server runs with."""
    return {
        "host": config.host,
        "port": config.port,
        "workers": config.workers,
        "http": NoDelayProtocol,
        "access_log": False,
        "log_config": logging_config(),
        "log_level": "warning",
        "timeout_graceful_shutdown": 30,
        # A worker still importing on a busy machine is not hung: killing it after uvicorn's
        # default 5 s would restart it in a loop and the server would never become ready.
        "timeout_worker_healthcheck": WORKER_HEALTHCHECK_SECONDS,
        "factory": True,
    }


def check_port_free(host: str, port: int) -> None:
    """Return if ``host:port`` can be listened on now; Conflict naming it when it is taken.

    Raises InvalidInput when ``host`` is not an address of this machine.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise InvalidInput(f"host {host!r} cannot be listened on: {exc}", field="host") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
            probe.listen()
        except OSError as exc:
            raise Conflict(f"cannot listen on {host}:{port}: {exc.strerror}", field="port") from exc


def run_server(
    config: ServeConfig, settings: Settings, factory: str = "mloop.serving.app:app_from_env"
) -> None:
    """Serve until SIGTERM or Ctrl-C; the prediction log is flushed before exit.

    ``settings`` give the store, artifacts and token; ``factory`` names the function
    (module:name) each worker calls to build its app.
    """
    share_with_workers(config, settings)
    if config.workers > 1 and not os.environ.get(MULTIPROCESS_VARIABLE):
        os.environ[MULTIPROCESS_VARIABLE] = tempfile.mkdtemp(prefix="mloop-metrics-")
    logging.config.dictConfig(logging_config())
    signal.signal(signal.SIGTERM, _exit_cleanly)
    uvicorn.run(factory, **uvicorn_options(config))


def _exit_cleanly(signum: int, frame: object) -> None:
    """After uvicorn's graceful shutdown it re-raises SIGTERM: end with status 0 then."""
    raise SystemExit(0)
