"""Handing finished requests with a `fal_webhook` to the deliverer, with their final payload."""

from __future__ import annotations

from dataclasses import dataclass

from falfake.media.files import Files
from falfake.media.outputs import publish_output
from falfake.media.work import Work
from falfake.queue.models import QueuedRequest
from falfake.queue.replies import job_output
from falfake.queue.requests import Requests
from falfake.webhooks.delivery import Deliveries
from falfake.webhooks.payloads import failure_body, success_body

POLL_SECONDS = 0.05
ADOPT_EVERY = 20  # polls between looks for deliveries a stopped replica left (about 1 s)
CLOSE_GRACE_SECONDS = 5.0  # for a webhook POST under way when the server stops


@dataclass(frozen=True, slots=True)
class Dispatcher:
    """Takes the store's due webhooks, makes each payload (publishing the output's files) and
    starts its delivery."""

    store: Requests
    files: Files
    work: Work
    deliveries: Deliveries

    async def body(self, request: QueuedRequest) -> bytes:
        """The payload fal would POST for this finished request (its output, or its error)."""
        if request.failure is not None:
            return failure_body(request.request_id, request.failure)
        generation = job_output(request.job)
        output = await publish_output(
            generation, request.output_path, self.files, request.media_root, self.work
        )
        return success_body(request.request_id, output.body)

    async def dispatch_due(self) -> int:
        """Start delivering every webhook that became due; returns how many."""
        due = await self.store.take_webhooks()
        for target, request in due:
            body = await self.body(request)
            await self.deliveries.start(target, request.request_id, body)
            await self.store.webhook_started(request.request_id)
        return len(due)
