"""`falfake serve --config falfake.toml`: every flag as a TOML key, and `--print-config` back.

A key is the flag's name without the dashes (`queue-seconds = 2`, `key = ["id:secret"]`,
`fetch-images = true`). Each value goes through the same converter as on the command line, so a
file gets the same checks and the same messages, prefixed with the file and the key. Relative paths
are relative to the file, so a config committed next to a project's tests works from any folder.
"""

from __future__ import annotations

import argparse
import json
import re
import tomllib
from pathlib import Path
from typing import Any

from falfake.commandline import flag_values, flags
from falfake.commandline.flags import UsageError

# The options that say where the configuration comes from are not configuration.
_NOT_KEYS = frozenset({"config", "print_config"})


def defaults(path: Path, command: str) -> dict[str, Any]:
    """The file's values, checked as `falfake serve` would check them, for `command`'s options."""
    try:
        table = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{path} is not valid TOML: {exc}") from None
    commands = flags.subcommands(flags.parser())
    by_key = {_key(action): action for action in _actions(commands["serve"])}
    wanted = {action.dest for action in _actions(commands[command])}
    values: dict[str, Any] = {"command": command}
    for key, value in table.items():
        action = by_key.get(key)
        if action is None or action.dest in _NOT_KEYS:
            raise UsageError(
                f"{path}: unknown key {key!r} (keys are `falfake serve` flag names without the"
                " dashes, see falfake serve --help)"
            )
        parsed = _value(commands["serve"], action, key, value, path)
        if action.dest == "key" and command == "env":
            # `env` exports one key, the first the fake accepts; an empty list accepts any.
            if parsed:
                values["key"] = parsed[0]
        elif action.dest in wanted:
            values[action.dest] = parsed
    return values


def render(args: argparse.Namespace) -> str:
    """The effective `serve` configuration as a file `--config` reads back, with each help text."""
    command = flags.subcommands(flags.parser())["serve"]
    lines = ["# falfake serve configuration (falfake serve --config FILE reads it)"]
    for title, actions in flags.options(command):
        keys = [action for action in actions if action.dest not in _NOT_KEYS]
        if not keys:
            continue
        lines += ["", f"# {title}"]
        for action in keys:
            lines.append(f"# {flags.help_text(action)}")
            current = getattr(args, action.dest)
            value = _toml_value(action, current)
            if isinstance(current, Path) and current == action.default:
                # A default path is this machine's (under its home): the file stays portable.
                lines.append(f"# {_key(action)} is the default, {flags.shown_default(action)}")
            elif value is None:
                lines.append(f"# {_key(action)} is not set")
            else:
                lines.append(f"{_key(action)} = {_dumps(value)}")
    return "\n".join(lines) + "\n"


def _actions(command: argparse.ArgumentParser) -> list[argparse.Action]:
    return [action for _, actions in flags.options(command) for action in actions]


def _key(action: argparse.Action) -> str:
    return flags.flag_of(action).removeprefix("--")


def _value(
    command: argparse.ArgumentParser, action: argparse.Action, key: str, value: Any, path: Path
) -> Any:
    tokens = _tokens(action, key, value, path)
    try:
        namespace = command.parse_args(tokens)
    except UsageError as exc:
        problem = re.sub(r"^argument [^:]+: ", "", str(exc))
        raise UsageError(f"{path}: {key} = {_shown(value)}: {problem}") from None
    return getattr(namespace, action.dest)


def _tokens(action: argparse.Action, key: str, value: Any, path: Path) -> list[str]:
    flag = flags.flag_of(action)
    if action.nargs == 0:
        if not isinstance(value, bool):
            raise UsageError(f"{path}: {key} must be true or false, got {_shown(value)}")
        return [flag] if value else []
    repeated = isinstance(action, flags.Repeat)
    items = value if repeated and isinstance(value, list) else [value]
    tokens = []
    for item in items:
        if isinstance(item, bool | list | dict) or not isinstance(item, str | int | float):
            kind = "a list of strings" if repeated else "a string or a number"
            raise UsageError(f"{path}: {key} must be {kind}, got {_shown(value)}")
        text = str(item)
        if action.type in flag_values.PATH_TYPES:
            text = str(path.absolute().parent / Path(text).expanduser())
        tokens += [flag, text]
    return tokens


def _toml_value(action: argparse.Action, value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, Path):
        return _portable(value)
    if action.type is flag_values.video_size:
        return f"{value[0]}x{value[1]}"
    if isinstance(value, list | tuple | frozenset):
        return [str(item) for item in value]
    return value


def _portable(path: Path) -> str:
    """A path as a committed file should hold it: relative to the current folder (where the
    printed file is saved) when under it, else under `~`, else as it is."""
    if path.is_relative_to(Path.cwd()):
        return path.relative_to(Path.cwd()).as_posix()
    return flags.home_relative(path)


def _shown(value: Any) -> str:
    """A value in an error message, on one line (TOML's scalars and arrays read as JSON does)."""
    return json.dumps(value, default=str)


def _dumps(value: Any) -> str:
    import tomli_w  # only --print-config writes TOML; a start does not load it

    return tomli_w.dumps({"v": value}).removeprefix("v = ").strip()
