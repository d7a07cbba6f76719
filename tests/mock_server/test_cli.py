"""Command-line flags become settings; bad flags are refused with usage errors."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import falfake
from falfake import Auth, Retention, Settings, Timing
from falfake.cli import check_ages, main, scenarios, settings_from
from falfake.commandline import environment, flags
from falfake.commandline.flags import UsageError, parser
from falfake.contracts import InputLimits
from falfake.hosts import FAL_HOSTS
from falfake.settings import (
    ImageLimits,
    Replay,
    SafetyRules,
    Secret,
    Upstream,
    WebhookSettings,
)
from falfake.upstream.recordings import write
from tests import readme


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
        *("--flagged-images", "reject"),
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
        *("--stream-events", "5", "--realtime-timeout", "9", "--realtime-refusal", "close"),
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
        flagged_images="reject",
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
        stream_events=5,
        realtime_idle_seconds=9.0,
        realtime_refusal="close",
        video_width=640,
        video_height=360,
        public_url="http://127.0.0.1:1",
    )


def test_env_prints_what_a_shell_needs_for_every_http_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["env", "--port", "9123", "--ca-dir", str(tmp_path)]) == 0
    bundle = tmp_path / "bundle.pem"
    assert bundle.exists()
    preload = (Path(falfake.__file__).parent / "commandline" / "node_preload.mjs").as_uri()
    assert capsys.readouterr().out.splitlines() == [
        "export FAL_KEY=test-key",
        "export HTTPS_PROXY=http://127.0.0.1:9123",
        "export https_proxy=http://127.0.0.1:9123",
        f"export SSL_CERT_FILE={bundle}",
        f"export REQUESTS_CA_BUNDLE={bundle}",
        f"export CURL_CA_BUNDLE={bundle}",
        f"export NODE_EXTRA_CA_CERTS={bundle}",
        "export NODE_USE_ENV_PROXY=1",
        "export FALFAKE_URL=http://127.0.0.1:9123",
        f'export NODE_OPTIONS="--import={preload}${{NODE_OPTIONS:+ $NODE_OPTIONS}}"',
        "export NO_PROXY=127.0.0.1,localhost,::1",
        "export no_proxy=127.0.0.1,localhost,::1",
        "# JS (@fal-ai/client) in a browser, where no variable reaches it:",
        '#   fal.config({ credentials: "test-key", proxyUrl: { url:'
        ' "http://127.0.0.1:9123/fal/proxy", when: "always" } });',
    ]


def test_env_output_is_safe_to_eval_and_keeps_the_shells_node_options(tmp_path: Path) -> None:
    folder = tmp_path / "a folder; with $(trouble)"
    script = environment.exports("http://127.0.0.1:1", folder / "bundle.pem", "key'quote")
    result = subprocess.run(
        [
            "bash",
            "-c",
            f"export NODE_OPTIONS=--no-warnings\n{script}\n"
            'printf "%s|%s|%s" "$FAL_KEY" "$REQUESTS_CA_BUNDLE" "$NODE_OPTIONS"',
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    preload = environment.PRELOAD.as_uri()
    assert result.stdout == f"key'quote|{folder / 'bundle.pem'}|--import={preload} --no-warnings"


def test_exec_runs_the_command_in_that_environment(tmp_path: Path) -> None:
    shown = 'printf "%s|%s|%s" "$FAL_KEY" "$HTTPS_PROXY" "$CURL_CA_BUNDLE"'
    command = ["--port", "9124", "--ca-dir", str(tmp_path), "--key", "id:secret"]
    result = subprocess.run(
        [sys.executable, "-m", "falfake", "exec", *command, "--", "bash", "-c", shown],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == f"id:secret|http://127.0.0.1:9124|{tmp_path / 'bundle.pem'}"


def test_exec_passes_the_commands_exit_status_on(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "falfake", "exec", "--ca-dir", str(tmp_path), "--", "false"]
    assert subprocess.run(command, capture_output=True).returncode == 1


@pytest.mark.parametrize(
    ("command", "message"),
    [
        pytest.param([], "exec needs a command", id="none"),
        pytest.param(
            ["--", "no-such-command-here"], "cannot run no-such-command-here", id="missing"
        ),
    ],
)
def test_exec_without_a_command_it_can_run_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: list[str], message: str
) -> None:
    assert main(["exec", "--ca-dir", str(tmp_path), *command]) == 2
    assert message in capsys.readouterr().err


def test_scenarios_file_is_loaded_as_the_control_plane_would(tmp_path: Path) -> None:
    path = tmp_path / "scenarios.json"
    path.write_text('[{"operation": "submit", "status": 429, "times": 2}]')
    assert [(s.operation, s.status, s.times) for s in scenarios(path)] == [("submit", 429, 2)]


def test_a_misspelt_field_in_the_scenarios_file_stops_the_start_naming_it(
    start: Callable[..., str], tmp_path: Path
) -> None:
    path = tmp_path / "scenarios.json"
    path.write_text('[{"endpoint": "fal-ai/flux/dev",\n  "statsu": 503}]')
    assert start("--scenarios", str(path)) == (
        f"--scenarios {path}: scenario 1 (line 1), statsu: Unexpected keyword argument"
    )


def test_a_given_file_in_the_scenarios_file_is_read_from_beside_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "golden.mp4").write_bytes(b"golden")
    path = tmp_path / "scenarios.json"
    path.write_text('[{"output": {"video": {"$file": "golden.mp4"}}}]')
    monkeypatch.chdir("/")
    (loaded,) = scenarios(path)
    assert loaded.output == {"video": {"$bytes": "Z29sZGVu", "file_name": "golden.mp4"}}


@pytest.fixture
def start(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., str]:
    """Runs `falfake serve ARGS` in this process; returns the one line it printed, having
    checked that it exited 2 and printed nothing else (no usage block, no traceback)."""

    def run(*arguments: str) -> str:
        code = main(["serve", "--ca-dir", str(tmp_path / "ca"), *arguments])
        out, err = capsys.readouterr()
        assert (code, out) == (2, "")
        assert err.count("\n") == 1, err
        assert err.startswith("falfake: error: ")
        return err.removeprefix("falfake: error: ").rstrip("\n")

    return run


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--queue-seconds", "-1"], "argument --queue-seconds: must be 0 or more, got -1"),
        (["--run-seconds", "nan"], "argument --run-seconds: expected a finite number, got 'nan'"),
        (["--runners", "0"], "argument --runners: must be 1 or more, got 0"),
        (["--runners", "two"], "argument --runners: expected a whole number, got 'two'"),
        (["--max-requests", "-5"], "argument --max-requests: must be 1 or more, got -5"),
        (["--request-ttl", "0"], "argument --request-ttl: must be more than 0, got 0"),
        (["--webhook-time-scale", "inf"], "expected a finite number, got 'inf'"),
        (["--rate-limit", "0"], "argument --rate-limit: must be more than 0, got 0"),
        (["--port", "70000"], "must be 0 to 65535 (0 picks a free port), got 70000"),
        (["--max-body-bytes", "12XB"], "expected bytes such as 1048576 or 64MiB, got '12XB'"),
        (["--key", "no-colon"], "expected KEY_ID:KEY_SECRET (no spaces), got 'no-colon'"),
        (["--key", "id: secret"], "expected KEY_ID:KEY_SECRET (no spaces), got 'id: secret'"),
        (["--locked-key", ":secret"], "expected KEY_ID:KEY_SECRET (no spaces), got ':secret'"),
        (["--video-size", "17x9"], "expected WIDTHxHEIGHT with even numbers"),
        (["--public-url", "ftp://x"], "expected an http(s) URL such as http://127.0.0.1:8000"),
        (["--log-level", "loud"], "argument --log-level: invalid choice: 'loud'"),
        (["--validate-at", "never"], "argument --validate-at: invalid choice: 'never'"),
        (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
        (["--webhook-user-id", " "], "argument --webhook-user-id: must not be empty"),
        (["--allow-webhook-host", "a b"], "expected a host name such as hooks.internal"),
        (["--scenarios", "/no/such/file.json"], "cannot read /no/such/file.json: No such file"),
        (["--database", "mysql://x/y"], "'mysql://x/y' is not a PostgreSQL URL"),
        (["--workers", "2"], "replicas share their state only through --database"),
        (["--workers", "0"], "argument --workers: must be 1 or more, got 0"),
        (
            ["--database", "postgresql://x:pw@127.0.0.1:1/db"],
            "--database postgresql://x:***@127.0.0.1:1/db: cannot reach PostgreSQL",
        ),
        (
            ["--database", "postgresql://127.0.0.1:1/db", "--data-dir", "/tmp/x"],
            "--data-dir and --database both say where the state lives",
        ),
    ],
)
def test_a_bad_value_is_one_line_naming_the_flag(
    start: Callable[..., str], arguments: list[str], message: str
) -> None:
    assert message in start(*arguments)


def test_the_database_url_may_come_from_the_environment(
    start: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FALFAKE_DATABASE_URL", "postgresql://127.0.0.1:1/from-env")
    assert start().startswith("--database postgresql://127.0.0.1:1/from-env: cannot reach")


def test_a_port_in_use_suggests_another(start: Callable[..., str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert start("--port", str(port)) == (
            f"port {port} on 127.0.0.1 is in use (another falfake?); pick another with --port,"
            " or --port 0 for a free one"
        )


def test_an_address_that_is_not_loopback_needs_an_explicit_opt_in(
    start: Callable[..., str],
) -> None:
    refused = start("--host", "0.0.0.0")
    assert refused.startswith(
        "--host 0.0.0.0 is not a loopback address: whoever holds one of its keys"
    )
    assert refused.endswith("Add --allow-non-loopback to listen there anyway.")
    # With the opt-in it wants keys, then goes on to bind: 192.0.2.1 (TEST-NET-1) is no address
    # of this machine.
    assert start("--host", "192.0.2.1", "--allow-non-loopback") == (
        "--host 192.0.2.1: a fake on a network answers only configured keys; give one or more"
        " with --key KEY_ID:KEY_SECRET."
    )
    keyed = ["--host", "192.0.2.1", "--allow-non-loopback", "--key", "team:secret"]
    assert start(*keyed, "--allow-missing-key") == (
        "--host 192.0.2.1: --allow-missing-key would let anyone on the network in."
    )
    assert start(*keyed) == "--host 192.0.2.1: not an address this machine has"


@pytest.mark.parametrize("flag", ["--ca-dir", "--data-dir"])
def test_a_folder_that_cannot_be_written_is_named(
    start: Callable[..., str], tmp_path: Path, flag: str
) -> None:
    # A folder inside a regular file cannot be made, even by root (CI runs as root).
    (tmp_path / "a-file").write_text("")
    folder = tmp_path / "a-file" / "falfake"
    message = start(flag, str(folder))
    assert message.startswith(f"{flag} ")
    assert str(folder) in message
    assert "Not a directory" in message


@pytest.mark.parametrize(
    ("flag", "content", "message"),
    [
        (
            "--scenarios",
            '[\n  {"operation": "submit",\n   "status" 429}\n]',
            "line 3, column 13: Expecting ':'",
        ),
        (
            "--scenarios",
            '[{"operation": "submit"},\n\n {"operation": "fly"}]',
            "scenario 2 (line 3), operation: Input should",
        ),
        ("--scenarios", '{"operation": "submit"}', "expected a JSON list of scenarios"),
        (
            "--safety-rules",
            '{"prompt_terms": ["x"],\n "unknown": 1}',
            "unknown key 'unknown'; the keys are",
        ),
        ("--safety-rules", '{"prompt_terms": "x"}', "prompt_terms must be a list of strings"),
        ("--safety-rules", '{"image_index": "yes"}', "image_index must be true or false"),
        ("--safety-rules", "[]", "expected a JSON object with keys among"),
        ("--safety-rules", "{not json", "line 1, column 2: Expecting property name"),
    ],
)
def test_a_bad_json_file_says_where_and_what(
    start: Callable[..., str], tmp_path: Path, flag: str, content: str, message: str
) -> None:
    path = tmp_path / "file.json"
    path.write_text(content)
    assert start(flag, str(path)).startswith(f"{flag} {path}: {message}")


def test_the_installed_command_answers_a_mistake_in_one_line(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "falfake", "serve", "--queue-seconds", "-1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "XDG_DATA_HOME": str(tmp_path)},
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr == "falfake: error: argument --queue-seconds: must be 0 or more, got -1\n"


@pytest.mark.parametrize("command", ["serve", "env"])
def test_every_option_says_what_it_does(command: str) -> None:
    for _, actions in flags.options(flags.subcommands(parser())[command]):
        for action in actions:
            text = flags.help_text(action)
            assert len(text) > 20, action.dest
            if flags.shown_default(action) is not None:
                assert "[default: " in text, action.dest


def test_the_readme_flag_table_is_what_help_says() -> None:
    assert readme.current(readme.README.read_text()).strip() == readme.flag_reference().strip(), (
        "README.md's flag table differs from falfake serve --help: run `make readme`"
    )


def test_help_groups_the_options_as_the_readme_does(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main(["serve", "--help"])
    assert caught.value.code == 0
    shown = capsys.readouterr().out
    for title, actions in flags.options(flags.subcommands(parser())["serve"]):
        assert f"\n{title}:\n" in shown or title == "options"
        assert f"**{title}**" in readme.README.read_text() or title == "options"
        for action in actions:
            assert flags.flag_of(action) in shown


def test_endpoints_lists_the_built_in_ones_and_a_users(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.endpoints.conftest import SKETCH

    document = tmp_path / "sketch.json"
    document.write_text(json.dumps(SKETCH))
    assert main(["endpoints", "--endpoint", str(document)]) == 0
    lines = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert lines[0] == [
        "google/gemini-omni-flash/reference-to-video",
        "image-to-video",
        "falfake's own model",
    ]
    assert ["acme/sketch/v1", "text-to-image", str(document)] in lines
    assert {"fal-ai/flux/dev", "fal-ai/flux/schnell"} <= {line[0] for line in lines}


def test_a_broken_endpoint_document_stops_the_start_naming_it(
    start: Callable[..., str], tmp_path: Path
) -> None:
    document = tmp_path / "broken.json"
    document.write_text('{"openapi": "3.0.4"}')
    assert start("--endpoint", str(document)) == (
        f"endpoint document {document}: has no object at info"
    )


def test_the_banner_says_where_the_fake_and_its_dashboard_are(tmp_path: Path) -> None:
    from falfake.cli import banner

    text = banner("http://127.0.0.1:8123", tmp_path / "ca.pem", "python -m falfake env")
    assert text.startswith("falfake is serving fal's queue API on http://127.0.0.1:8123\n")
    assert "Dashboard: http://127.0.0.1:8123/_falfake/ui/\n" in text
    assert 'eval "$(python -m falfake env)"' in text


def test_with_restricted_keys_the_banner_uses_the_first_and_says_only_they_work(
    tmp_path: Path,
) -> None:
    from falfake.cli import banner

    text = banner("http://127.0.0.1:8123", tmp_path / "ca.pem", "env", ["ci:secret", "b:c"])
    assert "-H 'Authorization: Key ci:secret'" in text
    assert "Only the keys given by --key work (FAL_KEY=ci:secret)." in text
    assert "test-key" not in text
    assert "Any non-empty key works" in banner("http://127.0.0.1:1", tmp_path, "env")


def test_the_node_preload_knows_fals_hosts_as_the_fake_does() -> None:
    # Node cannot import hosts.py: its own table is held to the same names and services.
    table = re.search(r"const SERVICES = \{(.*?)\};", environment.PRELOAD.read_text(), re.S)
    assert table is not None
    assert dict(re.findall(r'"([^"]+)": "([^"]+)"', table[1])) == dict(FAL_HOSTS)


def test_upstream_mode_takes_its_key_from_the_named_variable_and_never_shows_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("MY_FAL_KEY", "real-id:real-secret")
    arguments = ["serve", "--upstream", "http://127.0.0.1:9", "--upstream-key-env", "MY_FAL_KEY"]
    arguments += ["--max-paid-requests", "3", "--drift-report", str(tmp_path / "d.jsonl")]
    settings = settings_from(parser().parse_args([*arguments, "--strict-contract"]))
    assert settings.upstream == Upstream(
        "http://127.0.0.1:9",
        Secret("real-id:real-secret"),
        3,
        drift_report=tmp_path / "d.jsonl",
        strict_contract=True,
    )
    assert "real-secret" not in repr(settings)


def test_upstream_mode_without_its_key_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("FAL_KEY", raising=False)
    assert main(["serve", "--upstream", "fal", "--ca-dir", str(tmp_path)]) == 2
    assert "--upstream fal needs the key to send it in $FAL_KEY" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        pytest.param(["--record", "r"], "--record needs --upstream", id="record-alone"),
        pytest.param(
            ["--replay", ".", "--upstream", "fal"], "leave --upstream out", id="replay-upstream"
        ),
        pytest.param(["--replay", "no/such/dir"], "no such folder", id="replay-missing"),
    ],
)
def test_record_and_replay_flags_that_cannot_work_are_usage_errors(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, arguments: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FAL_KEY", "k")
    with pytest.raises(UsageError, match=message):
        settings_from(parser().parse_args(["serve", *arguments]))


def test_replay_flags_are_read_into_settings(tmp_path: Path) -> None:
    arguments = ["serve", "--replay", str(tmp_path), "--on-miss", "simulate"]
    arguments += ["--replay-speed", "8", "--match-ignore", "seed", "--match-ignore", "x"]
    settings = settings_from(parser().parse_args(arguments))
    assert settings.replay == Replay(tmp_path, "simulate", 8.0, ("seed", "x"))


@pytest.mark.parametrize(
    ("text", "seconds"), [("90d", 90 * 86400.0), ("12h", 43200.0), ("30m", 1800.0), ("45", 45.0)]
)
def test_an_age_is_read_in_the_units_a_user_writes(text: str, seconds: float) -> None:
    assert parser().parse_args(["serve", "--max-age", text]).max_age == seconds


def old_recording(folder: Path) -> None:
    write(folder, "fal-ai/x", {"p": 1}, {"states": [], "result": {}},
          secret="k", version="1", now=time.time() - 100 * 86400)  # fmt: skip


def test_old_recordings_are_warned_about_at_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old_recording(tmp_path)
    check_ages(tmp_path, 90 * 86400, fail=False)
    error = capsys.readouterr().err
    assert error.startswith("falfake: warning: fal-ai--x/")
    assert error.rstrip().endswith("past --max-age")


def test_old_recordings_stop_the_start_when_told_to_fail(tmp_path: Path) -> None:
    old_recording(tmp_path)
    with pytest.raises(UsageError, match="1 recordings are too old"):
        check_ages(tmp_path, 90 * 86400, fail=True)
    check_ages(tmp_path, 200 * 86400, fail=True)  # young enough: nothing said


def test_on_miss_record_records_into_the_replay_folder_and_needs_an_upstream(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("FAL_KEY", "k")
    arguments = ["serve", "--replay", str(tmp_path), "--on-miss", "record"]
    settings = settings_from(parser().parse_args([*arguments, "--upstream", "fal"]))
    assert settings.replay == Replay(tmp_path, "record")
    assert settings.upstream is not None
    assert settings.upstream.record_dir == tmp_path
    with pytest.raises(UsageError, match="--on-miss record needs --upstream"):
        settings_from(parser().parse_args(arguments))
