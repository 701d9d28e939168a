"""``credo demo``: a synthetic town scored with a published demo rulebook.

:func:`generate_town` writes the town's records; :func:`demo_rulebook_text`
is the packaged Demo City rulebook (``rulebooks/demo-city.yaml`` is a copy);
:mod:`credo.demo.summary` sums up a batch run's output in SQL.
"""

from __future__ import annotations

from importlib.resources import files

from credo.demo.town import DEMO_AS_OF, TownStats, generate_town

__all__ = ["DEMO_AS_OF", "DEMO_RULEBOOK", "TownStats", "demo_rulebook_text", "generate_town"]

DEMO_RULEBOOK = "demo-city.yaml"


def demo_rulebook_text() -> str:
    """The Demo City rulebook shipped inside the package."""
    return files("credo").joinpath("data", DEMO_RULEBOOK).read_text(encoding="utf-8")
