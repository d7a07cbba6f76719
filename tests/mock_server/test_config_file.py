"""`falfake serve --config falfake.toml`: every flag as a key, the command line winning, and
`--print-config` writing a file that reads back as the same configuration."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path

import pytest

from falfake.cli import main, settings_from
from falfake.commandline import flags
from falfake.commandline.config_file import defaults

TEAM_CONFIG = """\
queue-seconds = 2
runners = 8
key = ["team:secret", "ci:secret"]
allow-missing-key = true
max-body-bytes = "1MiB"
video-size = "640x360"
data-dir = "state"
"""


@pytest.fixture
def config(tmp_path: Path) -> Callable[[str], Path]:
    def write(text: str) -> Path:
        path = tmp_path / "project" / "falfake.toml"
        path.parent.mkdir(exist_ok=True)
        path.write_text(text)
        return path

    return write


def parse(*argv: str) -> argparse.Namespace:
    args = flags.parse(argv)
    return flags.parse(argv, defaults(args.config, args.command)) if args.config else args


def test_every_key_is_a_flag_with_the_same_meaning(config: Callable[[str], Path]) -> None:
    path = config(TEAM_CONFIG)
    from_file = settings_from(parse("serve", "--config", str(path)))
    from_flags = settings_from(
        parse(
            *("serve", "--queue-seconds", "2", "--runners", "8", "--key", "team:secret"),
            *("--key", "ci:secret", "--allow-missing-key", "--max-body-bytes", "1048576"),
            *("--video-size", "640x360", "--data-dir", str(path.parent / "state")),
        )
    )
    assert from_file == from_flags


def test_relative_paths_are_relative_to_the_file(config: Callable[[str], Path]) -> None:
    path = config('data-dir = "state"\nca-dir = "/abs/ca"\n')
    args = parse("serve", "--config", str(path))
    assert (args.data_dir, args.ca_dir) == (path.parent / "state", Path("/abs/ca"))


def test_relative_paths_become_absolute_from_any_folder(
    config: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    path = config('ca-dir = "ca"\n')
    monkeypatch.chdir(path.parent)
    assert main(["env", "--config", "falfake.toml"]) == 0
    assert f"export SSL_CERT_FILE={path.parent / 'ca' / 'bundle.pem'}\n" in capsys.readouterr().out
    assert flags.parse(["serve", "--data-dir", "state"]).data_dir == path.parent / "state"


def test_flags_on_the_command_line_win(config: Callable[[str], Path]) -> None:
    args = parse("serve", "--config", str(config(TEAM_CONFIG)), "--runners", "3", "--key", "me:x")
    assert (args.runners, args.key, args.queue_seconds) == (3, ["me:x"], 2.0)


def test_a_repeated_flag_adds_to_itself_not_to_the_file(config: Callable[[str], Path]) -> None:
    path = str(config(TEAM_CONFIG))
    assert parse("serve", "--config", path, "--key", "a:1", "--key", "b:2").key == ["a:1", "b:2"]
    assert parse("serve", "--config", path).key == ["team:secret", "ci:secret"]


def test_print_config_reads_back_as_the_same_configuration(
    config: Callable[[str], Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    arguments = ["serve", "--config", str(config(TEAM_CONFIG)), "--clock", "virtual"]
    arguments += ["--rate-limit", "2.5", "--ca-dir", str(tmp_path / "ca")]
    assert main([*arguments, "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert 'clock = "virtual"' in printed
    assert "# proxy-key is not set" in printed
    again = tmp_path / "printed.toml"
    again.write_text(printed)
    assert settings_from(parse("serve", "--config", str(again))) == settings_from(parse(*arguments))


def test_env_takes_the_fakes_port_and_ca_dir_from_the_file(
    config: Callable[[str], Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = config(f'port = 9321\nca-dir = "{tmp_path / "ca"}"\nrunners = 2\n')
    assert main(["env", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "export HTTPS_PROXY=http://127.0.0.1:9321\n" in out
    assert f"export SSL_CERT_FILE={tmp_path / 'ca' / 'bundle.pem'}\n" in out


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("queue_seconds = 2", "unknown key 'queue_seconds' (keys are `falfake serve` flag names"),
        ("config = 'other.toml'", "unknown key 'config'"),
        ("queue-seconds = -1", "queue-seconds = -1: must be 0 or more, got -1"),
        ("runners = 2.5", "runners = 2.5: expected a whole number, got '2.5'"),
        ("fetch-images = 'yes'", 'fetch-images must be true or false, got "yes"'),
        ("key = [1, 2]", "key = [1, 2]: expected KEY_ID:KEY_SECRET (no spaces), got '1'"),
        ("key = [['a:b']]", 'key must be a list of strings, got [["a:b"]]'),
        ("runners = true", "runners must be a string or a number, got true"),
        ("validate-at = 'never'", "validate-at = \"never\": invalid choice: 'never'"),
        ("runners = ", "is not valid TOML: Invalid value (at line 1, column 11)"),
    ],
)
def test_a_bad_file_is_one_line_naming_the_file_and_key(
    config: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    text: str,
    message: str,
) -> None:
    path = config(text + "\n")
    assert main(["serve", "--config", str(path), "--ca-dir", str(tmp_path / "ca")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"falfake: error: {path}")
    assert message in err
    assert err.count("\n") == 1


def test_the_readme_example_is_a_valid_config(config: Callable[[str], Path]) -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    example = readme.split("```toml\n", 1)[1].split("```", 1)[0]
    args = parse("serve", "--config", str(config(example)))
    assert (args.port, args.key, args.video_size) == (8123, ["ci:secret"], (640, 360))


@pytest.mark.parametrize(
    ("keys", "exported"),
    [('key = ["ci:secret", "team:secret"]', "ci:secret"), ("key = []", "test-key")],
)
def test_env_exports_the_first_key_the_fake_accepts(
    config: Callable[[str], Path],
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    keys: str,
    exported: str,
) -> None:
    path = config(f'{keys}\nca-dir = "{tmp_path / "ca"}"\n')
    assert main(["env", "--config", str(path)]) == 0
    assert f"export FAL_KEY={exported}\n" in capsys.readouterr().out


def test_env_on_the_command_line_wins_over_the_files_keys(
    config: Callable[[str], Path], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = config(f'key = ["ci:secret"]\nca-dir = "{tmp_path / "ca"}"\n')
    assert main(["env", "--config", str(path), "--key", "mine:key"]) == 0
    assert "export FAL_KEY=mine:key\n" in capsys.readouterr().out


def test_print_config_writes_no_path_of_this_machine(
    config: Callable[[str], Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    project = config("").parent
    monkeypatch.chdir(project)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    arguments = ["serve", "--data-dir", ".falfake", "--safety-rules", str(_rules(tmp_path))]
    assert main([*arguments, "--print-config"]) == 0
    printed = capsys.readouterr().out
    assert 'data-dir = ".falfake"\n' in printed
    assert 'safety-rules = "~/rules.json"\n' in printed
    assert "# ca-dir is the default, " in printed
    assert str(tmp_path) not in printed
    (project / "falfake.toml").write_text(printed)
    assert settings_from(parse("serve", "--config", "falfake.toml")) == settings_from(
        parse(*arguments)
    )


def _rules(tmp_path: Path) -> Path:
    path = tmp_path / "home" / "rules.json"
    path.parent.mkdir(parents=True)
    path.write_text('{"prompt_terms": ["no"]}')
    return path
