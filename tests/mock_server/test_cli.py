"""Command-line flags become settings; bad flags are refused with usage errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from contracts import InputLimits
from mock_server import Auth, Retention, Settings, Timing
from mock_server.cli import environment, main, parser, settings_from
from mock_server.safety import SafetyRules
from mock_server.settings import ImageLimits
from mock_server.webhooks import WebhookSettings


def test_defaults_are_the_default_settings() -> None:
    assert settings_from(parser().parse_args(["serve"])) == Settings()


def test_every_flag_reaches_the_settings(tmp_path: Path) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text('{"prompt_terms": ["forbidden"], "image_index": true}')
    arguments = [
        "serve",
        *("--queue-seconds", "2", "--run-seconds", "3", "--runners", "5"),
        *("--key", "a:b", "--key", "c:d", "--locked-key", "e:f", "--allow-missing-key"),
        *("--validate-at", "submit", "--validation-detail", "minimal", "--ignore-cancel"),
        *("--cancel-completed-body", "status", "--no-status-error-fields"),
        *("--max-images", "7", "--prompt-max-length", "2500", "--image-refs", "accept"),
        *("--min-request-timeout", "1", "--request-ttl", "60", "--max-requests", "9"),
        *("--max-files", "8", "--max-body-bytes", "1000", "--video-size", "640x360"),
        *("--public-url", "http://127.0.0.1:1", "--proxy-key", "p:k", "--max-upload-bytes", "5"),
        *("--fetch-images", "--fetch-timeout", "3", "--image-min-side", "100"),
        *("--image-max-side", "2000", "--image-max-bytes", "999", "--safety-rules", str(rules)),
        *("--allow-webhook-host", "Hooks.Internal", "--allow-any-webhook-host"),
        *("--webhook-time-scale", "0.01", "--webhook-timeout", "2", "--webhook-user-id", "x|1"),
        *("--max-request-bytes", "100", "--file-ttl", "30", "--max-file-bytes", "200"),
        *("--rate-limit", "2.5", "--data-dir", "/tmp/falfake-data"),
    ]
    assert settings_from(parser().parse_args(arguments)) == Settings(
        timing=Timing(queue_seconds=2.0, run_seconds=3.0, runners=5),
        auth=Auth(
            keys=frozenset({"a:b", "c:d"}),
            locked_keys=frozenset({"e:f"}),
            allow_missing=True,
            proxy_key="p:k",
        ),
        retention=Retention(
            request_ttl_seconds=60.0,
            max_requests=9,
            max_request_bytes=100,
            max_files=8,
            max_file_bytes=200,
            file_ttl_seconds=30.0,
        ),
        rate_limit=2.5,
        data_dir=Path("/tmp/falfake-data"),
        limits=InputLimits(max_images=7, prompt_max_length=2500, image_refs="accept"),
        validate_at="submit",
        validation_detail="minimal",
        honour_cancel=False,
        cancel_completed_body="status",
        status_error_fields=False,
        min_request_timeout_seconds=1.0,
        max_body_bytes=1000,
        max_upload_bytes=5,
        images=ImageLimits(min_side=100, max_side=2000, max_bytes=999),
        safety=SafetyRules(prompt_terms=("forbidden",), image_index=True),
        fetch_images=True,
        fetch_timeout_seconds=3.0,
        webhooks=WebhookSettings(
            allowed_hosts=frozenset({"hooks.internal"}),
            allow_any_host=True,
            user_id="x|1",
            time_scale=0.01,
            timeout_seconds=2.0,
        ),
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


def test_env_prints_what_a_shell_needs_for_the_official_clients(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["env", "--port", "9123", "--ca-dir", str(tmp_path)]) == 0
    bundle = tmp_path / "bundle.pem"
    assert bundle.exists()
    assert capsys.readouterr().out.splitlines() == [
        "export FAL_KEY=test-key",
        "export HTTPS_PROXY=http://127.0.0.1:9123",
        "export https_proxy=http://127.0.0.1:9123",
        f"export SSL_CERT_FILE={bundle}",
        "export NO_PROXY=127.0.0.1,localhost,::1",
        "export no_proxy=127.0.0.1,localhost,::1",
        "# JS (@fal-ai/client):",
        '#   fal.config({ credentials: "test-key", proxyUrl: { url:'
        ' "http://127.0.0.1:9123/fal/proxy", when: "always" } });',
    ]


def test_env_output_is_safe_to_eval(tmp_path: Path) -> None:
    folder = tmp_path / "a folder; with $(trouble)"
    script = environment("http://127.0.0.1:1", folder / "bundle.pem", "key'quote")
    result = subprocess.run(
        ["bash", "-c", f'{script}\nprintf "%s|%s" "$FAL_KEY" "$SSL_CERT_FILE"'],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == f"key'quote|{folder / 'bundle.pem'}"


@pytest.mark.parametrize("content", ['{"prompt_terms": ["x"], "unknown": 1}', "[]", "{not json"])
def test_a_bad_rules_file_is_a_usage_error(tmp_path: Path, content: str) -> None:
    rules = tmp_path / "rules.json"
    rules.write_text(content)
    with pytest.raises(SystemExit) as caught:
        parser().parse_args(["serve", "--safety-rules", str(rules)])
    assert caught.value.code == 2


def test_clock_and_scenarios_flags(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios.json"
    scenarios.write_text('[{"operation": "submit", "status": 429, "times": 2}]')
    args = parser().parse_args(["serve", "--clock", "virtual", "--scenarios", str(scenarios)])
    assert args.clock == "virtual"
    assert [(s.operation, s.status, s.times) for s in args.scenarios] == [("submit", 429, 2)]


def test_a_bad_scenarios_file_is_a_usage_error(tmp_path: Path) -> None:
    scenarios = tmp_path / "scenarios.json"
    scenarios.write_text('[{"operation": "fly"}]')
    with pytest.raises(SystemExit):
        parser().parse_args(["serve", "--scenarios", str(scenarios)])
