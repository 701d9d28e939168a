"""constraints.txt pins every package that ``credo[dev]`` installs, exactly, so installs repeat.

scripts/setup installs with ``pip install -c constraints.txt -e '.[dev]'``; pip
only applies the pins it is given, so a dependency added to pyproject.toml
without running scripts/lock would float. These tests catch that.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
PIN = re.compile(r"^([A-Za-z0-9._-]+)==([^\s;#]+)$")


def pins() -> dict[str, str]:
    found: dict[str, str] = {}
    for raw in (ROOT / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = PIN.match(line)
        assert match, f"constraints.txt: not an exact pin: {line!r}"
        found[canonicalize_name(match.group(1))] = match.group(2)
    return found


def requirements(name: str, extras: frozenset[str]) -> list[Requirement]:
    """The requirements of an installed distribution that apply with these extras."""
    applying = []
    for text in metadata.requires(name) or []:
        req = Requirement(text)
        if req.marker is None or any(req.marker.evaluate({"extra": e}) for e in extras | {""}):
            applying.append(req)
    return applying


def closure() -> dict[str, Requirement | None]:
    """Every distribution that credo[dev] needs, by canonical name, with the requirement that brought it."""
    found: dict[str, Requirement | None] = {}
    todo: list[tuple[str, frozenset[str]]] = [("credo", frozenset({"dev"}))]
    seen: set[tuple[str, frozenset[str]]] = set()
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        for req in requirements(name, extras):
            found.setdefault(canonicalize_name(req.name), req)
            todo.append((req.name, frozenset(req.extras)))
    return found


def test_every_dependency_is_pinned_and_installed_at_its_pin() -> None:
    pinned = pins()
    needed = closure()
    assert "pytest" in needed and "duckdb" in needed  # the walk found the tree
    for name, req in needed.items():
        assert name in pinned, f"{name} ({req}) is not in constraints.txt: run scripts/lock"
        installed = metadata.version(name)
        assert installed == pinned[name], f"{name} {installed} is installed, constraints.txt pins {pinned[name]}"
        assert req is None or req.specifier.contains(pinned[name], prereleases=True), f"{req} excludes the pin"


def test_constraints_hold_nothing_credo_does_not_need() -> None:
    stale = set(pins()) - set(closure())
    assert not stale, f"constraints.txt pins packages credo[dev] no longer needs: {sorted(stale)}; run scripts/lock"


def test_the_project_itself_is_not_pinned() -> None:
    assert "credo" not in pins()
