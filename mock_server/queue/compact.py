"""Finished requests kept small, and out of the cyclic garbage collector's sight.

A finished request no longer changes, and a fake under load keeps hundreds of thousands of them.
As objects, each was ten the collector tracks (the request, its job, output, specs, log lines),
and every full collection walked them all while every client waited: with 100,000+ kept, one
submit in a hundred took 20-400 ms. Packed, a request is one flat tuple: `marshal` bytes of its
own plain values, and references to what it shares or already holds as bytes (its ids, its log
lines, its job's packed output and payloads: reading it back copies no image). Nothing in it is
tracked, and it takes a few hundred bytes.

`pack` answers None for a request holding a value marshal cannot keep (a subclass of a plain
type, from an odd scenario): the store keeps that one as it is.
"""

from __future__ import annotations

import marshal
import sys
from collections.abc import Callable
from typing import Any

from falfake.errors import error_state, restored_error
from falfake.queue.models import Job, LogLine, QueuedRequest, Status
from falfake.validation import Priority

# (seq, endpoint id, app id, media root, logs, record, output, *payloads): one flat tuple of
# values the collector does not track, so it stops tracking the tuple at its first look (a tuple
# inside might be looked at after this one, and keep it tracked into an old generation). Seq and
# endpoint id stay outside the record for listings; the ids, the media root, the log lines
# (marshalled) and the job's packed output are references to values kept anyway, not copies.
Packed = tuple[int, str, str, str, bytes, bytes, bytes | None, *tuple[bytes, ...]]

_SHARED = 256  # log tuples remembered by identity, each way


def pack(request: QueuedRequest) -> Packed | None:
    """`request` as plain values; None if one of them cannot be kept so."""
    job = request.job
    output = job.packed_output
    if output is None and job.failure is None:
        return None  # an output marshal could not keep
    record = (
        request.request_id,
        job.fails_late,
        None if job.failure is None else error_state(job.failure),
        job.stored_bytes,
        request.priority.value,
        request.submitted_at,
        request.eligible_at,
        request.start_deadline,
        request.output_path,
        request.webhook_url,
        request.run_seconds,
        request.status.value,
        request.started_at,
        request.finishes_at,
        request.completed_at,
        None if request.failure is None else error_state(request.failure),
        request.webhook_pending,
    )
    try:
        blob = marshal.dumps(record)
    except ValueError:  # "unmarshallable object", in an error's state
        return None
    generation, payloads = output or (None, ())
    return (
        request.seq,
        request.endpoint_id,
        request.app_id,
        sys.intern(request.media_root),  # one per address the fake is reached at
        _plain_logs(job.logs),
        blob,
        generation,
        *payloads,
    )


def unpack(packed: Packed) -> QueuedRequest:
    """The request `pack` was given, equal to it."""
    seq, endpoint_id, app_id, media_root, logs, blob, generation, *payloads = packed
    (
        request_id,
        fails_late,
        error,
        stored_bytes,
        priority,
        submitted_at,
        eligible_at,
        start_deadline,
        output_path,
        webhook_url,
        run_seconds,
        status,
        started_at,
        finishes_at,
        completed_at,
        failure,
        webhook_pending,
    ) = marshal.loads(blob)
    lines = _log_lines(logs)
    if generation is None:
        job = Job(lines, restored_error(*error), fails_late)
    else:
        job = Job.packed(
            lines,
            generation,
            tuple(payloads),
            fails_late=fails_late,
            stored_bytes=stored_bytes,
        )
    # Built as `QueuedRequest._with` builds a transition: the frozen `__init__` costs more than
    # the rest of the unpacking, and every field is set here.
    request = object.__new__(QueuedRequest)
    vars(request).update(
        request_id=request_id,
        endpoint_id=endpoint_id,
        app_id=app_id,
        job=job,
        priority=_PRIORITIES[priority],
        seq=seq,
        submitted_at=submitted_at,
        eligible_at=eligible_at,
        start_deadline=start_deadline,
        output_path=output_path,
        webhook_url=webhook_url,
        media_root=media_root,
        run_seconds=run_seconds,
        status=_STATUSES[status],
        started_at=started_at,
        finishes_at=finishes_at,
        completed_at=completed_at,
        failure=None if failure is None else restored_error(*failure),
        webhook_pending=webhook_pending,
    )
    return request


_PRIORITIES = {priority.value: priority for priority in Priority}
_STATUSES = {status.value: status for status in Status}
_marshalled: dict[int, tuple[object, Any]] = {}
_lines: dict[int, tuple[object, Any]] = {}


def _plain_logs(logs: tuple[LogLine, ...]) -> bytes:
    """`logs` marshalled, the same bytes for requests whose jobs share their log lines (an
    endpoint makes them once per shape of input)."""
    plain: bytes = _by_identity(
        _marshalled,
        logs,
        lambda: marshal.dumps(tuple((line.at, line.message, line.level) for line in logs)),
    )
    return plain


def _log_lines(plain: bytes) -> tuple[LogLine, ...]:
    """The log lines `_plain_logs` was given, shared again by the requests that shared them."""
    lines: tuple[LogLine, ...] = _by_identity(
        _lines,
        plain,
        lambda: tuple(LogLine(at, message, level) for at, message, level in marshal.loads(plain)),
    )
    return lines


def _by_identity(cache: dict[int, tuple[object, Any]], key: object, make: Callable[[], Any]) -> Any:
    """What `make` made for this very `key` object, remembered (with the key, so its id is not
    reused while remembered) for the last `_SHARED` keys at most."""
    found = cache.get(id(key))
    if found is not None and found[0] is key:
        return found[1]
    made = make()
    if len(cache) >= _SHARED:
        cache.clear()
    cache[id(key)] = key, made
    return made
