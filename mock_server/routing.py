"""The route table: each fal service under its prefix (see `mock_server.hosts`)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.routing import BaseRoute, Mount

from mock_server.harness.routes import control_routes
from mock_server.media.file_routes import file_routes
from mock_server.media.storage_routes import (
    cdn_upload_routes,
    rest_storage_routes,
    signed_upload_routes,
)
from mock_server.queue.endpoints import Endpoint
from mock_server.queue.routes import queue_routes
from mock_server.queue.run_routes import run_routes


def route_table(endpoints: Iterable[Endpoint]) -> list[BaseRoute]:
    """Every route; fal's key is checked in front of them (`mock_server.http.ingress`)."""
    endpoints = list(endpoints)
    # The queue first, unmounted: status polls are most of the traffic, routes are tried in order.
    return [
        *queue_routes(endpoints),
        *control_routes(),
        Mount("/run", routes=run_routes(endpoints)),
        Mount("/rest", routes=rest_storage_routes()),
        Mount("/cdn", routes=[*cdn_upload_routes(), *file_routes()]),
        *signed_upload_routes(),
        *file_routes(),
    ]
