"""The README, block by block: each says how it is checked, and the suite runs those it can.

A block is preceded by `<!-- checked: HOW -->`: `runs` (run here, against a real fake, with
`127.0.0.1:8000` standing for its address), `serves` (started here until it answers, then
stopped), `example FILE` or `file NAME` (the block is that file), `config`, `installs` and
`suite` (run by the test named, or by CI itself), `internet` or `key` (they need fal), `text`
and `not run (why)`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from falfake import Settings, Timing
from falfake.runtime.tls import CertificateAuthority, default_ca_dir
from tests.conftest import REPLICA, png, running_fake

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
FENCED = re.compile(
    r"(?:<!-- checked: (?P<how>.*?) -->\n)?```(?P<lang>\w*)\n(?P<code>.*?)^```\n", re.S | re.M
)
KINDS: tuple[str, ...] = ("runs", "serves", "example", "file", "config", "installs", "suite")
KINDS += ("internet", "key", "text", "not run")
BIN = Path(sys.executable).parent
JS = ROOT / "tests" / "official_clients" / "js"


@dataclass(frozen=True)
class Block:
    how: str
    lang: str
    code: str

    @property
    def kind(self) -> str:
        return next((k for k in KINDS if self.how.startswith(k)), "")

    def __str__(self) -> str:
        return self.code.splitlines()[0][:60] if self.code else "(empty)"


BLOCKS = [Block(m["how"] or "", m["lang"], m["code"]) for m in FENCED.finditer(README)]


def blocks(kind: str) -> list[Block]:
    return [block for block in BLOCKS if block.kind == kind]


def test_every_block_says_how_it_is_checked() -> None:
    assert README.count("```") == 2 * len(BLOCKS)
    assert [str(b) for b in BLOCKS if not b.kind] == []


@pytest.mark.parametrize("block", blocks("example") + blocks("installs"), ids=str)
def test_blocks_checked_elsewhere_name_a_test_that_exists(block: Block) -> None:
    path = ROOT / block.how.split()[1].strip("()")
    assert path.is_file(), block.how
    if block.kind == "example":
        assert block.code == path.read_text()


def test_the_file_blocks_follow_what_runs_them() -> None:
    for index, block in enumerate(BLOCKS):
        if block.kind == "file":
            assert BLOCKS[index - 1].kind == "runs", block


@dataclass
class Fake:
    url: str
    port: int

    def reset(self) -> None:
        httpx.post(f"{self.url}/_falfake/reset").raise_for_status()


@pytest.fixture(scope="module")
def fake() -> Iterator[Fake]:
    """A fake as `make run` starts one, with the CA `falfake env` points at (this run's HOME)."""
    authority = CertificateAuthority(default_ca_dir()).ensure()
    settings = Settings(timing=Timing(0.1, 0.3, 4), video_width=64, video_height=36)
    with running_fake(settings, authority) as url:
        yield Fake(url, int(url.rsplit(":", 1)[1]))


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A project folder with the cat.png the examples upload."""
    (tmp_path / "cat.png").write_bytes(png())
    return tmp_path


def as_written(code: str, fake: Fake) -> str:
    """The block with the fake's address for 127.0.0.1:8000 and this run's interpreter."""
    code = code.replace("127.0.0.1:8000", f"127.0.0.1:{fake.port}")
    code = code.replace("--port 8000", f"--port {fake.port}")
    return code.replace(".venv/bin/", f"{BIN}/")


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
    env["PATH"] = f"{BIN}{os.pathsep}{env['PATH']}"
    env.pop("FAL_KEY", None)
    return env


def run(command: list[str], work: Path) -> str:
    done = subprocess.run(
        command, cwd=work, env=environment(), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def run_block(block: Block, fake: Fake, work: Path) -> str:
    code = as_written(block.code, fake)
    if block.lang == "bash":
        following = BLOCKS[BLOCKS.index(block) + 1]
        if following.kind == "file":
            (work / following.how.split()[1]).write_text(following.code)
        code = code.replace(" -- python ", f" -- {sys.executable} ")
        return run(["bash", "-euo", "pipefail", "-c", code], work)
    if block.lang == "python":
        (work / "example.py").write_text(code)
        return run([sys.executable, "example.py"], work)
    assert block.lang == "js", block
    if shutil.which("node") is None or not (JS / "node_modules" / "@fal-ai").is_dir():
        pytest.fail("node and tests/official_clients/js/node_modules are needed: run `make test`")
    (work / "node_modules").symlink_to(JS / "node_modules")
    (work / "app.mjs").write_text(code)
    return run(["node", "app.mjs"], work)


def _json_lines(out: str) -> list[object]:
    """The JSON values printed one after the other (curl ends none with a newline)."""
    decoder, values, at = json.JSONDecoder(), [], 0
    while (at := out.find("{", at)) != -1:
        value, at = decoder.raw_decode(out, at)
        values.append(value)
    return values


def _submitted(out: str, fake: Fake, work: Path) -> None:
    (reply,) = _json_lines(out)
    assert isinstance(reply, dict)
    assert (reply["status"], reply["queue_position"]) == ("IN_QUEUE", 0)


def _made_a_png(out: str, fake: Fake, work: Path) -> None:
    assert (work / "cat.png").read_bytes().startswith(b"\x89PNG")


def _prints_the_video_url(out: str, fake: Fake, work: Path) -> None:
    url = out.split()[-1]
    assert url.startswith(f"{fake.url}/files/b/")
    assert httpx.get(url).headers["content-type"] == "video/mp4"


def _wrote_the_video(out: str, fake: Fake, work: Path) -> None:
    assert (work / "cat.mp4").read_bytes()[4:8] == b"ftyp"


def _stubbed_and_healthy(out: str, fake: Fake, work: Path) -> None:
    added, health = _json_lines(out)
    assert isinstance(added, dict)
    assert (added["output_fields"], added["logs"]) == ({"seed": 42}, ["Stubbed"])
    assert health == {"status": "ok", "storage": "memory", "replica": REPLICA}


def _streamed_and_realtime(out: str, fake: Fake, work: Path) -> None:
    *events, realtime = out.splitlines()
    assert [line.split()[0] for line in events] == ["True"] * (len(events) - 1) + ["False"]
    assert events[-1].startswith('False falfake answers "Name three cats": ')
    assert re.fullmatch(r"1 \d+ bytes of JPEG", realtime)


def _no_drift(out: str, fake: Fake, work: Path) -> None:
    assert out.count(" 0 differences") == 3, out


CHECKS: dict[str, Callable[[str, Fake, Path], None]] = {
    "curl -s -H 'Authorization": _submitted,
    '.venv/bin/python -c "from PIL': _made_a_png,
    'eval "$(.venv/bin/python -m falfake env': _prints_the_video_url,
    'import { readFile } from "node:fs/promises";': _prints_the_video_url,
    "from falfake.client import FalClient, Hosts": _prints_the_video_url,
    ".venv/bin/python -m falfake.client generate": _wrote_the_video,
    "curl -s -X POST http://127.0.0.1:8000/_falfake/scenarios": _stubbed_and_healthy,
    ".venv/bin/falfake verify": _no_drift,
    ".venv/bin/python -m falfake exec --port 8000 -- python stream.py": _streamed_and_realtime,
}


def check_of(block: Block) -> Callable[[str, Fake, Path], None]:
    (check,) = [check for start, check in CHECKS.items() if block.code.startswith(start)]
    return check


def test_every_block_that_runs_has_one_check_and_every_check_a_block() -> None:
    checks = [check_of(block) for block in blocks("runs")]
    assert len(set(checks)) == len(set(CHECKS.values()))


@pytest.mark.parametrize("block", blocks("runs"), ids=str)
def test_the_block_runs_as_written(block: Block, fake: Fake, work: Path) -> None:
    fake.reset()
    check_of(block)(run_block(block, fake, work), fake, work)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def started(command: list[str], cwd: Path) -> Iterator[subprocess.Popen[str]]:
    """`command` in a session of its own (so make's child stops with make), stopped after."""
    with subprocess.Popen(
        command,
        cwd=cwd,
        env=environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            yield process
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.communicate(timeout=15)


@pytest.mark.parametrize("block", [b for b in blocks("serves") if b.lang == "bash"], ids=str)
def test_the_make_run_blocks_serve(block: Block) -> None:
    (line,) = [line for line in block.code.splitlines() if line.startswith("make run")]
    command = line.split("#")[0].strip().replace("make run", "make run PORT=0", 1)
    with started(["bash", "-c", command], ROOT) as process:
        assert process.stderr is not None
        banner = ""
        while "falfake is serving" not in banner:
            banner = process.stderr.readline()
            assert banner, "make run stopped before serving"
        url = re.search(r"on (http://127\.0\.0\.1:\d+)$", banner.strip())
        assert url, banner
        assert httpx.get(f"{url.group(1)}/_falfake/health").json()["status"] == "ok"


def test_the_webhook_receiver_verifies_what_the_fake_sends(fake: Fake, work: Path) -> None:
    (receiver,) = [b for b in blocks("serves") if b.lang == "python"]
    port = free_port()
    (work / "hook.py").write_text(as_written(receiver.code, fake).replace("9000", str(port)))
    with started([sys.executable, "-u", "hook.py"], work) as process:
        hook = f"http://127.0.0.1:{port}/hook"
        body = {"prompt": "A cat <IMAGE_REF_0>", "image_urls": ["https://example.com/cat.png"]}
        endpoint = "google/gemini-omni-flash/reference-to-video"
        submitted = httpx.post(
            f"{fake.url}/queue/{endpoint}",
            params={"fal_webhook": hook},
            json=body,
            headers={"Authorization": "Key test-key"},
        )
        assert submitted.status_code == 200
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "OK"  # verified, then printed
