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

Not yet: queue positions as recorded (the fake's own are given). A lifecycle that ended with an
error replays to the same error (status and body) after its recorded run.
"""

from __future__ import annotations

import base64
import json
from collections import defaultdict
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

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
from falfake.upstream.targets import FORWARD


class Replayer:
    def __init__(self, app: ASGIApp, *, replay: Replay, files: Files) -> None:
        self.app, self.replay, self.files = app, replay, files
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
            effect = await self._effect(Request(scope), endpoint_id, asked)
        except FalError as exc:
            await fal_error_response(exc)(scope, receive, send)
            return
        if effect is None:
            if self.replay.on_miss == "record":
                scope[FORWARD] = True  # upstream, and recorded
            await self.app(scope, receive, send)
            return
        with in_effect(effect):
            await self.app(scope, receive, send)

    async def _effect(self, request: Request, endpoint_id: str, asked: Any) -> Effect | None:
        own_files = f"{media_root(request, None)}/files/"
        matched = matched_input(await self._digested(asked, own_files), self.replay.match_ignore)
        key = (endpoint_id, match_key(endpoint_id, matched))
        if key not in self.index and self.replay.on_miss == "record":
            self._indexed()  # recorded since the last look, perhaps
        recording = self.index.get(key)
        if recording is None:
            if self.replay.on_miss != "error":
                return None
            raise NoRecording(self._miss(endpoint_id, matched))
        queued, running = timings(recording.data["states"], self.replay.speed)
        result = recording.data["result"]
        logs = recorded_logs(recording.data["states"])
        lines, moments = [line for _, line in logs], [at for at, _ in logs]
        if result["status"] != 200:  # it ended with an error: the same one, after its run
            failure = RecordedFailure(result["status"], result.get("body"))
            stub = Stub(logs=lines, log_moments=moments)
            return Effect(queue_seconds=queued, run_seconds=running, stub=stub, failure=failure)
        stub = Stub(self._with_bytes(result["body"]), logs=lines, log_moments=moments)
        return Effect(queue_seconds=queued, run_seconds=running, stub=stub)

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
        if isinstance(node, str) and node.startswith(own_files):
            try:
                stored = await self.files.read(node.removeprefix(own_files))
            except NotFound:
                return node
            return digest_marker(stored.data)
        if isinstance(node, list):
            return [await self._digested(item, own_files) for item in node]
        if isinstance(node, dict):
            return {k: await self._digested(v, own_files) for k, v in node.items()}
        return node

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
