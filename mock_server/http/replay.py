"""Replay mode (`--replay DIR`, no network; issue 33): a submit, sync run or stream whose input
matches a recording (`upstream.recordings`) gets the recorded lifecycle: the same time in the
queue and running (divided by `--replay-speed`, on the fake's clock, the virtual one too), the
same logs, and the recorded output with its media served from the fake's own URLs, under a fresh
request id.

Matching is on the endpoint and the input without `--match-ignore` fields; a file the input names
on this fake (an upload) is matched by the digest of its bytes, so a fresh upload of the same image
matches. Any other call is a fal-shaped 404 naming the closest recording and the fields that
differ, with `--on-miss simulate` the usual made-up answer, and with `--on-miss record` the
upstream's (`http.forward`, which records it into the same folder: the next such call replays).

Status polls of a replayed request see its recorded queue positions at the recorded pace (the
status stream gives the fake's own: not yet). A lifecycle that ended with an error replays to the
same error (status and body) after its recorded run.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections import OrderedDict, defaultdict
from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from falfake.errors import FalError, NoRecording, NotFound, RecordedFailure
from falfake.harness.scenarios import Effect, in_effect
from falfake.http.render import fal_error_response
from falfake.http.scenario_runner import buffered
from falfake.http.urls import media_root
from falfake.media.files import Files
from falfake.queue.stubs import BYTES, FILE, Stub
from falfake.settings import Replay
from falfake.upstream.recordings import (
    Recording,
    differing_fields,
    digest_marker,
    load,
    match_key,
    matched_input,
    recorded_logs,
    replayable,
    timings,
)
from falfake.upstream.targets import FORWARD, files_replaced

# Replayed requests whose queue positions are given as recorded, the newest.
_REMEMBERED = 10_000
_STATUS = re.compile(r"/queue/.+/requests/([^/]+)/status")


class Replayer:
    def __init__(
        self, app: ASGIApp, *, replay: Replay, files: Files, now: Callable[[], float]
    ) -> None:
        self.app, self.replay, self.files, self.now = app, replay, files, now
        # request id -> when it was submitted, and its recorded queue positions by time
        self.queued: OrderedDict[str, tuple[float, list[tuple[float, int]]]] = OrderedDict()
        self._indexed()

    def _indexed(self) -> None:
        """Read the recordings (again: with `--on-miss record`, the upstream adds to them)."""
        replay = self.replay
        recordings = [r for r in load(replay.folder) if replayable(r)]
        ignore = replay.match_ignore  # on both sides: a recording matches whatever those hold
        self.index = {
            (r.endpoint_id, match_key(r.endpoint_id, matched_input(r.matched, ignore))): r
            for r in recordings
        }
        self.by_endpoint: dict[str, list[Recording]] = defaultdict(list)
        for recording in recordings:
            self.by_endpoint[recording.endpoint_id].append(recording)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        polled = _STATUS.fullmatch(scope["path"]) if scope["type"] == "http" else None
        if polled is not None and polled.group(1) in self.queued:
            await self.app(scope, receive, _rewriting(send, self._position(polled.group(1))))
            return
        endpoint_id = _called_endpoint(scope)
        if endpoint_id is None:
            await self.app(scope, receive, send)
            return
        raw, receive = await buffered(receive)
        try:
            asked = json.loads(raw)
        except ValueError:
            await self.app(scope, receive, send)  # the fake answers it with fal's 422
            return
        try:
            effect, recording = await self._effect(Request(scope), endpoint_id, asked)
        except FalError as exc:
            await fal_error_response(exc)(scope, receive, send)
            return
        if effect is None:
            if self.replay.on_miss == "record":
                scope[FORWARD] = True  # upstream, and recorded
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/queue/"):
            send = _rewriting(send, self._submitted(effect_positions(recording)))
        with in_effect(effect):
            await self.app(scope, receive, send)

    def _submitted(self, recorded: list[tuple[float, int]]) -> Callable[[Any], Any]:
        """The submit reply with the recorded first position; the request remembered."""
        submitted_at = self.now()
        positions = [(at / self.replay.speed, position) for at, position in recorded]

        def change(body: Any) -> Any:
            if not isinstance(body, dict) or "request_id" not in body or not positions:
                return body
            self.queued[str(body["request_id"])] = (submitted_at, positions)
            while len(self.queued) > _REMEMBERED:
                self.queued.popitem(last=False)
            return {**body, "queue_position": positions[0][1]}

        return change

    def _position(self, request_id: str) -> Callable[[Any], Any]:
        """A status reply with the position recorded at this moment of the lifecycle."""
        submitted_at, positions = self.queued[request_id]
        elapsed = self.now() - submitted_at
        position = next((p for at, p in reversed(positions) if at <= elapsed), positions[0][1])

        def change(body: Any) -> Any:
            if isinstance(body, dict) and body.get("status") == "IN_QUEUE":
                return {**body, "queue_position": position}
            return body

        return change

    async def _effect(
        self, request: Request, endpoint_id: str, asked: Any
    ) -> tuple[Effect | None, Recording | None]:
        """What the matching recording does to the call (and the recording); None for a miss
        that is not an error."""
        own_files = f"{media_root(request, None)}/files/"
        matched = matched_input(await self._digested(asked, own_files), self.replay.match_ignore)
        key = (endpoint_id, match_key(endpoint_id, matched))
        if key not in self.index and self.replay.on_miss == "record":
            self._indexed()  # recorded since the last look, perhaps
        recording = self.index.get(key)
        if recording is None:
            if self.replay.on_miss != "error":
                return None, None
            raise NoRecording(self._miss(endpoint_id, matched))
        queued, running = timings(recording.data["states"], self.replay.speed)
        result = recording.data["result"]
        logs = recorded_logs(recording.data["states"])
        lines, moments = [line for _, line in logs], [at for at, _ in logs]
        if result["status"] != 200:  # it ended with an error: the same one, after its run
            failure = RecordedFailure(result["status"], result.get("body"))
            stub = Stub(logs=lines, log_moments=moments)
            effect = Effect(queue_seconds=queued, run_seconds=running, stub=stub, failure=failure)
            return effect, recording
        try:
            output = self._with_bytes(result["body"])
        except OSError as exc:  # its media went away since it was read
            raise NoRecording(
                f"falfake --replay: {recording.path} lost a media file ({exc.strerror});"
                " record it again"
            ) from None
        stub = Stub(output, logs=lines, log_moments=moments)
        return Effect(queue_seconds=queued, run_seconds=running, stub=stub), recording

    def _miss(self, endpoint_id: str, matched: Any) -> str:
        folder = self.replay.folder
        candidates = self.by_endpoint.get(endpoint_id, [])
        if not candidates:
            return f"falfake --replay: no recording of {endpoint_id} in {folder}"
        ignore = self.replay.match_ignore

        def differing(recording: Recording) -> list[str]:
            return differing_fields(matched_input(recording.matched, ignore), matched)

        closest = min(candidates, key=lambda r: len(differing(r)))
        fields = ", ".join(differing(closest))
        where = closest.path.relative_to(folder)
        return (
            f"falfake --replay: no recording of {endpoint_id} matches this input; the closest"
            f" is {where} (it differs in: {fields})"
        )

    async def _digested(self, node: Any, own_files: str) -> Any:
        """The input with each file on the fake replaced by the digest of its bytes (a URL the
        fake does not hold stays as it is)."""

        async def digest(url: str) -> Any:
            try:
                stored = await self.files.read(url.removeprefix(own_files))
            except NotFound:
                return url
            return digest_marker(stored.data)

        return await files_replaced(node, own_files, digest)

    def _with_bytes(self, node: Any) -> Any:
        """The recorded output with each `$file` (under the recordings' folder) read in."""
        if isinstance(node, dict) and FILE in node:
            data = (self.replay.folder / str(node[FILE])).read_bytes()
            kept = {k: v for k, v in node.items() if k != FILE}
            return {**kept, BYTES: base64.b64encode(data).decode()}
        if isinstance(node, dict):
            return {key: self._with_bytes(value) for key, value in node.items()}
        if isinstance(node, list):
            return [self._with_bytes(item) for item in node]
        return node


def effect_positions(recording: Recording | None) -> list[tuple[float, int]]:
    """The queue positions a recording went through, each with when (seconds after submit)."""
    if recording is None:
        return []
    return [
        (state["after_seconds"], state["queue_position"])
        for state in recording.data["states"]
        if state.get("status") == "IN_QUEUE" and isinstance(state.get("queue_position"), int)
    ]


def _rewriting(send: Send, change: Callable[[Any], Any]) -> Send:
    """`send` with a JSON reply's body changed by `change` (its length set again)."""
    start: Message | None = None

    async def sending(message: Message) -> None:
        nonlocal start
        if message["type"] == "http.response.start":
            start = message
            return
        if start is not None and message["type"] == "http.response.body":
            body = message.get("body", b"")
            if not message.get("more_body"):
                with contextlib.suppress(ValueError):  # not JSON: as it was
                    body = json.dumps(change(json.loads(body)), separators=(",", ":")).encode()
                headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
                start = {
                    **start,
                    "headers": [*headers, (b"content-length", str(len(body)).encode())],
                }
                message = {**message, "body": body}
            await send(start)
            start = None
        await send(message)

    return sending


def _called_endpoint(scope: Scope) -> str | None:
    """The endpoint a submit, sync run or stream calls; None for any other call."""
    if scope["type"] != "http" or scope["method"] != "POST":
        return None
    path: str = scope["path"]
    if path.startswith("/queue/") and "/requests/" not in path:
        return path.removeprefix("/queue/").strip("/")
    if path.startswith("/run/"):
        return path.removeprefix("/run/").removesuffix("/stream").strip("/")
    return None
