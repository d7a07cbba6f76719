"""What the route modules share: bounded body reads, rate tokens, the runner's context.

Headers are read with `hosts.header` straight from the scope: most that submit looks for are
absent, and a miss through Starlette's `Headers.get` raises and catches a KeyError each time.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request

from mock_server.errors import BadRequest, PayloadTooLarge
from mock_server.fake import Fake
from mock_server.harness.scenario_runner import SCENARIO_KEY
from mock_server.harness.scenarios import Scenario
from mock_server.hosts import header, media_root
from mock_server.queue.endpoints import PlanContext
from mock_server.queue.safety import FORCE_HEADER, forced_stages


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, or 413 as soon as it is known to exceed `limit` bytes."""
    declared = header(request.scope, b"content-length") or ""
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise PayloadTooLarge(f"Request body is larger than {limit} bytes.")
            chunks.append(chunk)
    except ClientDisconnect:
        # Nobody is left to read the answer; a plain 400 ends the request without a traceback.
        raise BadRequest("The client disconnected before sending the whole body.") from None
    return b"".join(chunks)


def query_value(request: Request, name: str) -> str | None:
    """A query parameter; most polls have no query string, and then nothing is parsed."""
    if not request.scope.get("query_string"):
        return None
    return request.query_params.get(name)


def take_rate_token(request: Request, fake: Fake) -> None:
    """429 past `--rate-limit` for this request's key (its whole Authorization header)."""
    if fake.rate_limiter.limited:
        fake.rate_limiter.check(header(request.scope, b"authorization") or "")


def plan_context(request: Request, fake: Fake, request_id: str) -> PlanContext:
    """What the runner may use: the fake's files, its addresses, and forced safety stages."""
    roots = [media_root(request, None)]
    if fake.settings.public_url is not None:
        roots.append(fake.settings.public_url)
    forced = forced_stages(header(request.scope, FORCE_HEADER.encode()))
    scenario = scenario_of(request)
    if scenario is not None:
        forced |= frozenset(scenario.content_policy)
    return PlanContext(
        settings=fake.settings,
        files=fake.files,
        request_id=request_id,
        own_roots=roots,
        forced_safety=forced,
        fetch=fake.fetch,
        work=fake.work,
    )


def scenario_of(request: Request) -> Scenario | None:
    """The scenario that matched this request, if one did and let it through."""
    scenario: Scenario | None = request.scope.get(SCENARIO_KEY)
    return scenario
