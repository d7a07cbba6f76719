"""The queue's operations on a `Call`: what a submit and a sync run do between reading the request
and writing the reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

from falfake.clock import Clock
from falfake.media.files import Files
from falfake.media.images import Fetch
from falfake.media.outputs import Output, publish_output
from falfake.media.previews import image_previews
from falfake.media.work import Work
from falfake.queue.calls import Call
from falfake.queue.models import Job, Snapshot
from falfake.queue.plans import Endpoint, PlanContext, check_at_submit, plan_job
from falfake.queue.replies import job_output, reject_early
from falfake.queue.requests import Requests
from falfake.queue.store import NewRequest
from falfake.queue.streaming import event_times, media_events, text_events
from falfake.queue.stubs import stubbed
from falfake.settings import Settings


class Parts(Protocol):
    """The parts of a fake the operations use (`falfake.fake.Fake` has them)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def clock(self) -> Clock: ...
    @property
    def store(self) -> Requests: ...
    @property
    def files(self) -> Files: ...
    @property
    def fetch(self) -> Fetch | None: ...
    @property
    def work(self) -> Work: ...
    @property
    def new_request_id(self) -> Callable[[], str]: ...
    @property
    def new_output_path(self) -> Callable[[], str]: ...


async def submit(parts: Parts, endpoint: Endpoint, call: Call) -> Snapshot:
    """Queue the call: its job planned (a rejected input is a job that fails), stubbed as a
    scenario says; with `--validate-at submit` a rejected input is the 422 now."""
    request_id = parts.new_request_id()
    job = await _job(parts, endpoint, call, request_id)
    check_at_submit(job, parts.settings)
    return await parts.store.submit(
        NewRequest(
            request_id=request_id,
            endpoint_id=endpoint.endpoint_id,
            app_id=endpoint.app_id,
            job=job,
            output_path=parts.new_output_path(),
            priority=call.priority,
            start_timeout=call.start_timeout,
            max_queue_length=call.max_queue_length,
            webhook_url=call.webhook,
            media_root=call.media_root,
            queue_seconds=call.queue_seconds,
            run_seconds=call.run_seconds,
        )
    )


async def run(parts: Parts, endpoint: Endpoint, call: Call) -> tuple[str, Output]:
    """Run the call at once (no queue, so `X-Fal-Request-Timeout` was only checked): its id and
    its output, or the error it fails with."""
    request_id, job = await _started(parts, endpoint, call)
    await parts.clock.sleep(_run_seconds(parts, call))
    output = await publish_output(
        job_output(job), parts.new_output_path(), parts.files, call.media_root, parts.work
    )
    return request_id, output


async def stream(
    parts: Parts, endpoint: Endpoint, call: Call
) -> tuple[str, AsyncIterator[dict[str, Any]]]:
    """The call's id and its events paced over the run time (STREAMING.md §1.4); an error found
    before the first event (input, or the output checker at the end of the run) is raised."""
    request_id, job = await _started(parts, endpoint, call)
    seconds = _run_seconds(parts, call)
    start = parts.clock.now()
    if job.failure is not None:  # found at the end of the run: no event went out before it
        await parts.clock.sleep(seconds)
    generation = job_output(job)
    output_path = parts.new_output_path()
    output = await publish_output(generation, output_path, parts.files, call.media_root, parts.work)
    if endpoint.stream_text is not None:
        events = text_events(output.body, endpoint.stream_text)
    else:
        previews = await image_previews(generation, output_path, parts.files, parts.work)
        events = media_events(output.body, parts.settings.stream_events, previews)
    return request_id, _paced(parts, events, event_times(start, seconds, len(events)))


async def _started(parts: Parts, endpoint: Endpoint, call: Call) -> tuple[str, Job]:
    """A sync run's or a stream's id and job, once it starts: input the runner rejects at once
    is raised; a stuck call waits until the client gives up and disconnects."""
    request_id = parts.new_request_id()
    job = await _job(parts, endpoint, call, request_id)
    reject_early(job)
    if call.stuck:
        await asyncio.Event().wait()
    return request_id, job


async def _paced(
    parts: Parts, events: list[dict[str, Any]], times: list[float]
) -> AsyncIterator[dict[str, Any]]:
    for event, moment in zip(events, times, strict=True):
        wait = moment - parts.clock.now()
        if wait > 0:
            await parts.clock.sleep(wait)
        yield event


def _run_seconds(parts: Parts, call: Call) -> float:
    seconds = call.run_seconds
    return parts.settings.timing.run_seconds if seconds is None else seconds


async def _job(parts: Parts, endpoint: Endpoint, call: Call, request_id: str) -> Job:
    context = PlanContext(
        settings=parts.settings,
        files=parts.files,
        request_id=request_id,
        own_roots=call.own_roots,
        forced_safety=call.forced_safety,
        fetch=parts.fetch,
        work=parts.work,
    )
    job = stubbed(await plan_job(endpoint, call.body, call.content_type, context), call.stub)
    if call.failure is not None and job.failure is None:  # a replayed lifecycle's error
        return Job(job.logs, outcome=call.failure, fails_late=True)
    return job
