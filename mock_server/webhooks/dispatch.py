"""Handing finished requests with a `fal_webhook` to the deliverer, with their final payload."""

from __future__ import annotations

from falfake.fake import Fake
from falfake.media.outputs import publish_output
from falfake.queue.models import QueuedRequest
from falfake.queue.replies import job_output
from falfake.webhooks.payloads import failure_body, success_body

POLL_SECONDS = 0.05
CLOSE_GRACE_SECONDS = 5.0  # for a webhook POST under way when the server stops


async def webhook_body(fake: Fake, request: QueuedRequest) -> bytes:
    """The payload fal would POST for this finished request (its output, or its error)."""
    if request.failure is not None:
        return failure_body(request.request_id, request.failure)
    generation = job_output(request.job)
    output = await publish_output(
        generation, request.output_path, fake.files, request.media_root, fake.work
    )
    return success_body(request.request_id, output.body)


async def dispatch_due(fake: Fake) -> int:
    """Start delivering every webhook that became due; returns how many."""
    due = fake.store.take_webhooks()
    for target, request in due:
        body = await webhook_body(fake, request)
        fake.deliveries.start(target, request.request_id, body)
        fake.store.webhook_started(request.request_id)
    return len(due)
