"""Command-line flags become settings; bad flags are refused with usage errors."""

from __future__ import annotations

import pytest

from contracts import InputLimits
from mock_server import Auth, Retention, Settings, Timing
from mock_server.cli import parser, settings_from


def test_defaults_are_the_default_settings() -> None:
    assert settings_from(parser().parse_args(["serve"])) == Settings()


def test_every_flag_reaches_the_settings() -> None:
    arguments = [
        "serve",
        *("--queue-seconds", "2", "--run-seconds", "3", "--runners", "5"),
        *("--key", "a:b", "--key", "c:d", "--locked-key", "e:f", "--allow-missing-key"),
        *("--validate-at", "submit", "--validation-detail", "minimal", "--ignore-cancel"),
        *("--cancel-completed-body", "status", "--no-status-error-fields"),
        *("--max-images", "7", "--prompt-max-length", "2500", "--image-refs", "accept"),
        *("--min-request-timeout", "1", "--request-ttl", "60", "--max-requests", "9"),
        *("--max-files", "8", "--max-body-bytes", "1000", "--video-size", "640x360"),
        *("--public-url", "http://127.0.0.1:1"),
    ]
    assert settings_from(parser().parse_args(arguments)) == Settings(
        timing=Timing(queue_seconds=2.0, run_seconds=3.0, runners=5),
        auth=Auth(
            keys=frozenset({"a:b", "c:d"}), locked_keys=frozenset({"e:f"}), allow_missing=True
        ),
        retention=Retention(request_ttl_seconds=60.0, max_requests=9, max_files=8),
        limits=InputLimits(max_images=7, prompt_max_length=2500, image_refs="accept"),
        validate_at="submit",
        validation_detail="minimal",
        honour_cancel=False,
        cancel_completed_body="status",
        status_error_fields=False,
        min_request_timeout_seconds=1.0,
        max_body_bytes=1000,
        video_width=640,
        video_height=360,
        public_url="http://127.0.0.1:1",
    )


@pytest.mark.parametrize(
    "arguments",
    [
        pytest.param(["serve", "--runners", "0"], id="no-runners"),
        pytest.param(["serve", "--video-size", "17x9"], id="odd-size"),
        pytest.param(["serve", "--validate-at", "never"], id="bad-choice"),
        pytest.param([], id="no-command"),
    ],
)
def test_command_line_rejects_bad_flags(arguments: list[str]) -> None:
    from mock_server.cli import parser

    with pytest.raises(SystemExit) as caught:
        parser().parse_args(arguments)
    assert caught.value.code == 2
