"""`create_app`: the Starlette application of one fake, with its store, files and clock."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sys
from collections.abc import AsyncIterator, Callable, Iterable, Mapping

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount

from falfake.clock import Clock, SettableClock, SharedClock, SystemClock
from falfake.contracts.documents import EndpointDocument
from falfake.endpoints.registry import served
from falfake.errors import FalError, StorageUnavailable
from falfake.fake import Fake
from falfake.harness.routes import control_routes, openapi_of
from falfake.http.ingress import Ingress
from falfake.http.render import render
from falfake.ids import file_segment, uuid7
from falfake.media.file_routes import file_routes
from falfake.media.images import http_fetch
from falfake.media.storage_routes import (
    cdn_upload_routes,
    rest_storage_routes,
    signed_upload_routes,
)
from falfake.media.work import Work
from falfake.queue.plans import Endpoint
from falfake.queue.routes import queue_routes
from falfake.queue.run_routes import run_routes
from falfake.queue.runners import keep_up
from falfake.realtime import tokens
from falfake.realtime.routes import realtime_routes, token_routes
from falfake.settings import FAL_UPSTREAM, Settings
from falfake.storage import Memory, Storage
from falfake.ui.routes import ui_routes
from falfake.upstream.contract import Violations
from falfake.webhooks.delivery import Deliveries
from falfake.webhooks.dispatch import ADOPT_EVERY, CLOSE_GRACE_SECONDS, POLL_SECONDS, Dispatcher
from falfake.webhooks.signing import WebhookSigner


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    new_request_id: Callable[[], str] | None = None,
    signer: WebhookSigner | None = None,
) -> Starlette:
    """A fake of fal's hosts for the built-in endpoints and those `settings` names.

    Raises `DocumentError` for an endpoint document that cannot be served.
    """
    settings = settings or Settings()
    endpoints = served(settings.endpoint_files, settings.endpoints_dir)
    storage = _storage(settings)
    clock = storage.clock(clock or SystemClock())
    saved_at = storage.saved_at()
    if saved_at is not None and isinstance(clock, SettableClock):
        clock.set(saved_at)  # a manual or virtual clock goes on from where it stood
    stores = storage.stores(settings, clock)
    shared_key = storage.signing_key()
    if shared_key is not None:  # every replica signs with the one key its JWKS shows
        signer = WebhookSigner.from_pem(shared_key)
    signer = signer or WebhookSigner.generated()
    deliveries = Deliveries(settings.webhooks, signer, clock, stores.deliveries)
    work = Work()
    fake = Fake(
        settings=settings,
        clock=clock,
        store=stores.requests,
        files=stores.files,
        uploads=stores.uploads,
        fetch=http_fetch(settings.fetch_timeout_seconds) if settings.fetch_images else None,
        signer=signer,
        deliveries=deliveries,
        webhooks=Dispatcher(stores.requests, stores.files, work, deliveries),
        scenarios=stores.scenarios,
        journal=stores.journal,
        rate_limiter=stores.rate_limits,
        new_request_id=new_request_id or (lambda: uuid7(clock.now())),
        new_output_path=lambda: f"b/{file_segment()}",
        new_upload_path=lambda name: f"b/{file_segment()}/{name}",
        storage=storage,
        work=work,
    )
    violations = Violations()  # upstream mode's, for the dashboard
    app = Starlette(
        routes=route_table(endpoints.endpoints.values()),
        middleware=[
            Middleware(
                Ingress,
                journal=fake.journal,
                clock=clock.now,
                auth=settings.auth,
                scenarios=fake.scenarios,
                new_id=fake.new_request_id,
                pull_clock=clock.pull if isinstance(clock, SharedClock) else None,
                check_token=lambda token, alias: tokens.check(
                    fake.signer, token, alias, clock.now()
                ),
                socket_refusal=settings.realtime_refusal,
            ),
            # Replay first: with --on-miss record, only what it cannot answer goes upstream.
            *_replaying(settings, fake),
            *_forwarding(settings, endpoints.documents, fake, violations),
        ],
        exception_handlers={FalError: render, HTTPException: render},
        lifespan=lifespan(),
    )
    app.state.fake = fake
    app.state.endpoints = endpoints
    app.state.violations = violations
    app.state.openapi = openapi_of(list(endpoints.documents.values()))
    return app


def _forwarding(
    settings: Settings,
    documents: Mapping[str, EndpointDocument],
    fake: Fake,
    violations: Violations,
) -> list[Middleware]:
    """Upstream mode: after the ingress, calls to fal's services go upstream (`http.forward`),
    their outputs checked against the served endpoints' documents."""
    if settings.upstream is None:
        return []
    from falfake.http.forward import Forwarder  # httpx only for upstream mode
    from falfake.upstream.documents import Documents
    from falfake.upstream.follow import Follower

    documents_of = Documents(
        documents,
        pull=settings.upstream.base == FAL_UPSTREAM,  # only fal itself is asked for fal's
        folder=settings.endpoints_dir,
    )
    forwarding = Middleware(
        Forwarder,
        upstream=settings.upstream,
        max_body_bytes=settings.max_body_bytes,
        documents=documents_of,
        clock=fake.clock.now,
        follower=Follower(settings.upstream, fake.deliveries),
        webhooks=settings.webhooks,
        violations=violations,
        files=fake.files if settings.replay is not None else None,
    )
    return [forwarding]


def _replaying(settings: Settings, fake: Fake) -> list[Middleware]:
    """Replay mode: matching submits and sync runs get their recorded lifecycle."""
    if settings.replay is None:
        return []
    from falfake.http.replay import Replayer

    return [Middleware(Replayer, replay=settings.replay, files=fake.files, now=fake.clock.now)]


def _storage(settings: Settings) -> Storage:
    """The engine `settings` asks for: memory, a data directory (SQLite), or PostgreSQL."""
    if settings.database_url is not None:
        from falfake.runtime.postgres.engine import Postgres  # asyncpg only when asked for

        return Postgres(settings.database_url)
    if settings.data_dir is None:
        return Memory()
    from falfake.runtime.data_dir import DataDir  # SQLite and the codec only when asked for

    return DataDir(settings.data_dir)


def route_table(endpoints: Iterable[Endpoint]) -> list[BaseRoute]:
    """Every route; fal's key is checked in front of them (`falfake.http.ingress`)."""
    endpoints = list(endpoints)
    # The queue first, unmounted: status polls are most of the traffic, routes are tried in order.
    return [
        *queue_routes(endpoints),
        *control_routes(),
        *ui_routes(),
        Mount("/run", routes=[*realtime_routes(), *run_routes(endpoints)]),
        Mount("/rest", routes=[*rest_storage_routes(), *token_routes()]),
        Mount("/cdn", routes=[*cdn_upload_routes(), *file_routes()]),
        *signed_upload_routes(),
        *file_routes(),
    ]


def lifespan() -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    """While the server runs, replay the runners' moves as they fall due (`queue.runners`) and
    look for due webhooks in real time (the store follows its clock).

    Deliveries an earlier run left unfinished carry on at start; at the end the data directory,
    if any, is closed.
    """

    @contextlib.asynccontextmanager
    async def run(app: Starlette) -> AsyncIterator[None]:
        fake: Fake = app.state.fake
        fake.deliveries.resume()

        async def watch() -> None:
            for turn in itertools.count():
                # A shared database may be away for a moment; the webhooks wait for it.
                try:
                    await fake.webhooks.dispatch_due()
                    if turn % ADOPT_EVERY == 0:
                        await fake.deliveries.adopt()
                except StorageUnavailable:
                    pass
                except Exception as exc:
                    print(f"falfake: webhooks: {type(exc).__name__}: {exc}", file=sys.stderr)
                await asyncio.sleep(POLL_SECONDS)

        loop = asyncio.get_running_loop()
        tasks = [loop.create_task(watch()), loop.create_task(keep_up(fake.store, fake.clock.now))]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await fake.deliveries.close(CLOSE_GRACE_SECONDS)
            await fake.close()

    return run
