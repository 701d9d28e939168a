"""``python -m credo`` runs the CLI, for hosts where the console script is not on PATH."""

from __future__ import annotations

import subprocess
import sys


def test_python_dash_m_credo_shows_the_commands() -> None:
    done = subprocess.run([sys.executable, "-m", "credo", "--help"], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    for command in ("batch", "explain", "demo", "rulebook", "ingest", "score"):
        assert command in done.stdout
