"""The docs keep up with the code: the CLI reference is generated, and nothing goes undocumented.

As in Datasette: docs/cli.md is the output of scripts/gen-cli-docs, and a test fails
when a command or an option is missing from it or from the README.
"""

from __future__ import annotations

import os
import re
import runpy
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
CLI_MD = ROOT / "docs" / "cli.md"
GEN = runpy.run_path(str(ROOT / "scripts" / "gen-cli-docs"))

FENCE = re.compile(r"^```([\w-]*)[^\n]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
SHELL = {"sh", "bash", "shell", "console"}


def commands() -> list[tuple[str, Any]]:
    return [(path, command) for path, command, _ in GEN["commands"]()]


def leaf_commands() -> list[tuple[str, Any]]:
    return [(path, command) for path, command in commands() if not hasattr(command, "list_commands")]


def cli_section(path: str) -> str:
    """The part of docs/cli.md under the heading of one command."""
    text = CLI_MD.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(path)}\n(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    assert match, f"docs/cli.md has no section '## {path}'"
    return match.group(1)


def test_cli_reference_is_generated_from_the_cli() -> None:
    current = CLI_MD.read_text(encoding="utf-8") if CLI_MD.exists() else ""
    assert current == GEN["render"](), "docs/cli.md is out of date: run scripts/gen-cli-docs --write"


def test_the_cli_has_the_commands_the_docs_expect() -> None:
    # Guards the walk itself: a generator that found no command would document nothing.
    paths = [path for path, _ in commands()]
    assert paths[0] == "credo"
    assert {"credo demo", "credo batch", "credo explain", "credo rulebook check"} <= set(paths)


@pytest.mark.parametrize("path", [path for path, _ in commands()])
def test_every_command_and_option_is_in_the_cli_reference(path: str) -> None:
    command = dict(commands())[path]
    section = cli_section(path)
    for param in command.params:
        names = param.opts if param.param_type_name == "option" else [param.name]
        for name in names:
            assert name in section, f"{path}: {name} is not in docs/cli.md"


@pytest.mark.parametrize("path", [path for path, _ in leaf_commands()])
def test_every_command_is_in_the_readme(path: str) -> None:
    assert path in README.read_text(encoding="utf-8"), f"README.md does not mention {path}"


def test_the_readme_opens_with_the_two_commands() -> None:
    blocks = FENCE.findall(README.read_text(encoding="utf-8"))
    shell = [(i, body.strip()) for i, (lang, body) in enumerate(blocks) if lang in SHELL]
    assert [body for _, body in shell[:2]] == ["scripts/demo", "scripts/test"]
    # Before them there may be a picture (a text block), but nothing else.
    assert {lang for lang, _ in blocks[: shell[1][0]]} <= {"text", *SHELL}


@pytest.mark.parametrize(
    "name", ["demo", "test", "check", "setup", "chromium", "lock", "gen-cli-docs", "gen-security-docs"]
)
def test_scripts_are_executable(name: str) -> None:
    script = ROOT / "scripts" / name
    assert os.access(script, os.X_OK), f"scripts/{name} is not executable"
    first, *rest = script.read_text(encoding="utf-8").splitlines()
    assert first.startswith("#!/usr/bin/env ")
    if first.endswith("bash"):
        assert "set -euo pipefail" in rest


def test_ci_runs_the_readme_test_command() -> None:
    run = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "set -euo pipefail" in run
    assert re.search(r"^exec scripts/test\b", run, re.MULTILINE)


def test_readme_links_the_docs() -> None:
    readme = README.read_text(encoding="utf-8")
    targets = (
        "docs/scoring.md",
        "docs/rulebook.md",
        "docs/cli.md",
        "docs/adr/",
        "docs/performance.md",
        "docs/architecture.md",
    )
    for target in targets:
        assert f"]({target})" in readme, f"README.md does not link {target}"
