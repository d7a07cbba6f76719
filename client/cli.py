"""`python -m falfake.client generate`: make a video from a prompt and reference images, with
progress."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path

import httpx
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from falfake.client.config import Hosts, resolve_key
from falfake.client.errors import ApiError, FalClientError, MissingCredentials, ValidationError
from falfake.client.models import InProgress, LogEntry, Queued, Status
from falfake.client.retry import RetryPolicy
from falfake.client.sync import FalClient
from falfake.contracts import ENDPOINT_ID, AspectRatioEnum, ReferenceToVideoInput

EXIT_FAILED = 1
EXIT_REJECTED = 2
# A falfake accepts any non-empty key; this one says in the fake's journal where it came from.
TEST_KEY = "falfake-test-key"


def parser() -> argparse.ArgumentParser:
    fields = ReferenceToVideoInput.model_fields
    duration, shape = fields["duration"], fields["aspect_ratio"]
    root = argparse.ArgumentParser(prog="python -m falfake.client", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True, metavar="COMMAND")
    generate = commands.add_parser(
        "generate",
        help=f"run {ENDPOINT_ID} and save the video",
        description=f"Run {ENDPOINT_ID} on fal (or a falfake) and save the video.",
    )
    generate.add_argument(
        "--prompt",
        required=True,
        help="what to make; <IMAGE_REF_0> is the first --image, <IMAGE_REF_1> the next",
    )
    generate.add_argument(
        "--image",
        action="append",
        required=True,
        help="a reference image: a path (uploaded first) or a URL; repeat for more",
    )
    generate.add_argument(
        "--duration",
        type=int,
        default=None,
        help=f"seconds of video, 3 to 10 [default: the model's, {duration.default}]",
    )
    generate.add_argument(
        "--aspect-ratio",
        choices=[ratio.value for ratio in AspectRatioEnum],
        default=None,
        help=f"the video's shape [default: the model's, {shape.default.value}]",
    )
    generate.add_argument(
        "-o",
        "--output",
        type=Path,
        default=Path("output.mp4"),
        help="where to save the video [default: output.mp4]",
    )
    generate.add_argument(
        "--key",
        help="fal key [default: FAL_KEY; with a falfake and no key, the test key " + TEST_KEY + "]",
    )
    generate.add_argument(
        "--falfake",
        metavar="URL",
        help="use the falfake at URL instead of fal [default: FALFAKE_URL, else fal itself]",
    )
    return root


def main(argv: Sequence[str] | None = None, console: Console | None = None) -> int:
    args = parser().parse_args(argv)
    console = console or Console(stderr=True)
    try:
        return _generate(args, console)
    except ValidationError as exc:
        console.print(f"[red]Rejected:[/red] {_reasons(exc)}")
        return EXIT_REJECTED
    except ApiError as exc:
        console.print(f"[red]fal answered {exc.status_code}:[/red] {_reasons(exc)}")
        return EXIT_FAILED
    except (FalClientError, OSError, httpx.HTTPError) as exc:  # OSError: writing the output
        console.print(f"[red]Failed:[/red] {exc}")
        return EXIT_FAILED


def _generate(args: argparse.Namespace, console: Console) -> int:
    hosts = Hosts.falfake(args.falfake) if args.falfake else Hosts.from_env()
    key = _key(args.key, args.falfake or os.environ.get("FALFAKE_URL"), console)
    images: list[str | Path] = [
        image if image.startswith(("http://", "https://", "data:")) else Path(image)
        for image in args.image
    ]
    data: dict[str, object] = {"prompt": args.prompt, "image_urls": images}
    if args.duration is not None:
        data["duration"] = args.duration
    if args.aspect_ratio is not None:
        data["aspect_ratio"] = args.aspect_ratio
    # Fewer retries than the library's default: a person is waiting at the terminal.
    retry = RetryPolicy(max_attempts=4)
    with FalClient(key, hosts=hosts, retry=retry) as client, _progress(console) as progress:
        task = progress.add_task("Uploading and submitting")

        def on_update(status: Status) -> None:
            progress.update(task, description=_describe(status))

        def on_log(line: LogEntry) -> None:
            progress.console.print(f"[dim]{line.timestamp}[/dim] {line.message}")

        output = client.subscribe(data, on_queue_update=on_update, on_log=on_log)
        progress.update(task, description="Downloading the video")
        with httpx.stream("GET", output.video.url, timeout=60) as response:
            response.raise_for_status()
            with args.output.open("wb") as file:
                for chunk in response.iter_bytes():
                    file.write(chunk)
    console.print(f"[green]Saved[/green] {args.output} ({output.video.url})")
    return 0


def _key(given: str | None, falfake: str | None, console: Console) -> str:
    try:
        return resolve_key(given)
    except MissingCredentials:
        if not falfake:
            raise MissingCredentials(
                "No fal key: pass --key KEY or set FAL_KEY (make one at"
                " https://fal.ai/dashboard/keys), or add --falfake URL to use a falfake."
            ) from None
    console.print(f"[dim]No key given: using the test key {TEST_KEY} for the falfake.[/dim]")
    return TEST_KEY


def _progress(console: Console) -> Progress:
    return Progress(
        SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=console
    )


def _describe(status: Status) -> str:
    if isinstance(status, Queued):
        return f"In queue, position {status.position}"
    if isinstance(status, InProgress):
        return "Generating"
    return "Finished" if status.error is None else f"Failed: {status.error}"


def _reasons(exc: ApiError) -> str:
    if isinstance(exc, ValidationError):
        return "; ".join(
            f"{'.'.join(str(p) for p in entry.get('loc', [])[1:]) or 'input'}: {entry.get('msg')}"
            for entry in exc.field_errors
        )
    return str(exc.detail)
