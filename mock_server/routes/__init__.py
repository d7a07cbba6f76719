"""The route table: each fal service under its prefix (see `mock_server.hosts`)."""

from __future__ import annotations

from collections.abc import Iterable

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount

from mock_server.endpoints import Endpoint
from mock_server.routes.common import RequireKey
from mock_server.routes.control import control_routes
from mock_server.routes.files import file_routes
from mock_server.routes.queue import queue_routes
from mock_server.routes.run import run_routes
from mock_server.routes.storage import (
    cdn_upload_routes,
    rest_storage_routes,
    signed_upload_routes,
)
from mock_server.settings import Auth


def route_table(endpoints: Iterable[Endpoint], auth: Auth) -> list[BaseRoute]:
    endpoints = list(endpoints)
    require_key = [Middleware(RequireKey, auth=auth)]
    # The queue first: status polls are most of the traffic, and routes are tried in order.
    return [
        Mount("/queue", routes=queue_routes(endpoints), middleware=require_key),
        *control_routes(),
        Mount("/run", routes=run_routes(endpoints), middleware=require_key),
        Mount("/rest", routes=rest_storage_routes(), middleware=require_key),
        Mount("/cdn", routes=[*cdn_upload_routes(), *file_routes()]),
        *signed_upload_routes(),
        *file_routes(),
    ]
