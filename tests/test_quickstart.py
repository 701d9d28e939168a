"""The quickstart at the top of docs/api.md works as written on a fresh store.

The block between ``<!-- quickstart -->`` and ``<!-- /quickstart -->`` is run
by bash from the repository's root, as a reader would paste it: only the
port is changed (to a free one) and the day is pinned (``CREDO_TODAY``), so
that the record it pushes still counts on whatever day the test runs.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from credo.cli.console import credo_command

ROOT = Path(__file__).resolve().parents[1]
BLOCK = re.compile(r"<!-- quickstart -->\n```sh\n(.*?)```\n<!-- /quickstart -->", re.DOTALL)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_api_quickstart_works_as_written(tmp_path: Path) -> None:
    match = BLOCK.search((ROOT / "docs" / "api.md").read_text(encoding="utf-8"))
    assert match, "docs/api.md has no quickstart block"
    script = match.group(1).replace("8000", str(_free_port()))
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CREDO_")}
    environ.update(TMPDIR=str(tmp_path), CREDO_TODAY="2026-12-07")
    process = subprocess.Popen(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # the server it starts goes with it, whatever happens
    )
    try:
        output, _ = process.communicate(timeout=120)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
    assert process.returncode == 0, output
    assert '"outcome":"new"' in output, output
    assert '"applies":true' in output, output
    assert output.rstrip().splitlines()[-1] == "900 B", output


def test_hints_name_credo_as_it_can_be_typed_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After scripts/demo, `credo` is in .venv/bin, seldom on PATH: the demo's hints must say so."""
    program = tmp_path / ".venv" / "bin" / "credo"
    program.parent.mkdir(parents=True)
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", [str(program), "demo"])
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    assert credo_command() == os.path.join(".venv", "bin", "credo")
    monkeypatch.setenv("PATH", f"{program.parent}:/usr/bin:/bin")
    assert credo_command() == "credo"
