"""The engine seam: one method between a compiled plan and whatever runs it.

As httpx's transports have ``handle_request``, an engine has :meth:`ScoringEngine.run`:
a compiled plan (:mod:`credo.batch.plan`) and Arrow tables in, Arrow tables out.
Engines are chosen by name from a registry, and each declares what it does not
do (:class:`Gap`), so a command can refuse it in one clear line instead of
failing half-way. A new engine is a class and one :func:`register` line.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import Protocol, TypeAlias

import pyarrow as pa

from credo.batch.files import RecordFiles
from credo.batch.plan import ScoringPlan
from credo.errors import EngineError, UnknownEngine, Unsupported

__all__ = [
    "BATCH_INPUTS",
    "STORE_INPUTS",
    "EngineError",
    "Gap",
    "Inputs",
    "Outputs",
    "ScoringEngine",
    "UnknownEngine",
    "Unsupported",
    "check",
    "get",
    "names",
    "needs",
    "refuse_gap",
    "register",
]


class Gap(enum.Enum):
    """Something an engine does not do; its value says what, for a one-line error."""

    STORE = "rescoring a store in bulk (the store plan)"


# A batch plan reads ``checked`` (every input row, its per-row reasons; raw fields as text: see
# credo.batch.files.RecordFiles) and ``input_files`` (file_no, file); it gives ``scores`` (the plan's
# columns, ordered by subject) and ``rejects`` (file, row, reason and the fields as read, in input order).
BATCH_INPUTS = ("checked", "input_files")
# A store plan reads ``store_subjects`` (ka, kb) and ``store_records`` (credo.store.bulk_reads.RECORDS_COLUMNS);
# it gives ``subject_scores`` (ka, kb, present, score, grade, dim_<i> in hundredths, lists, measures, next_change).
STORE_INPUTS = ("store_subjects", "store_records")

Inputs: TypeAlias = Mapping[str, pa.Table | RecordFiles]
Outputs: TypeAlias = dict[str, pa.Table]


class ScoringEngine(Protocol):
    """Runs compiled plans. ``name`` is how users choose it; ``gaps`` what it does not do."""

    name: str
    gaps: frozenset[Gap]

    def run(self, plan: ScoringPlan, inputs: Inputs) -> Outputs:
        """Run ``plan`` over ``inputs`` (Arrow tables by name, see above); its output tables by name.

        The whole boundary: nothing else passes between a command and an engine.
        An input named ``checked`` may also be :class:`credo.batch.files.RecordFiles`
        (record files not yet read): an engine that reads files natively reads them
        itself, any other calls ``to_arrow()``. Raises :class:`Unsupported` for a
        plan the engine declares a gap for.
        """
        ...


Factory: TypeAlias = Callable[..., ScoringEngine]
_REGISTRY: dict[str, Factory] = {}


def register(name: str, factory: Factory) -> None:
    """Make an engine available by ``name`` (``factory(threads=...)`` makes one)."""
    _REGISTRY[name] = factory


def names() -> tuple[str, ...]:
    """The registered engines' names, in registration order (the default first)."""
    _load_builtin()
    return tuple(_REGISTRY)


def get(name: str, *, threads: int | None = None) -> ScoringEngine:
    """The engine registered as ``name``; :class:`UnknownEngine` names the registered ones."""
    _load_builtin()
    factory = _REGISTRY.get(name)
    if factory is None:
        raise UnknownEngine(f"unknown engine {name!r}: use {', '.join(_REGISTRY)}")
    return factory(threads=threads)


def refuse_gap(engine: ScoringEngine, gap: Gap) -> None:
    """Raise :class:`Unsupported` if ``engine`` declares ``gap``."""
    if gap in engine.gaps:
        raise Unsupported(f"the {engine.name} engine does not support {gap.value}")


def _load_builtin() -> None:
    """The built-in engines register themselves on import (here, not at import of this module: no cycle)."""
    from credo.engines import duckdb, python  # noqa: F401


def _check_inputs(plan: ScoringPlan, inputs: Inputs) -> None:
    wanted: tuple[str, ...] = STORE_INPUTS if plan.store else BATCH_INPUTS
    if isinstance(inputs.get("checked"), RecordFiles):
        wanted = ("checked",)  # the files bring their input_files
    missing = [n for n in wanted if n not in inputs]
    if missing:
        raise EngineError(f"plan inputs missing: {', '.join(missing)}")


def needs(plan: ScoringPlan) -> Gap | None:
    """The gap an engine must not have to run ``plan`` (None: every engine runs it)."""
    return Gap.STORE if plan.store else None


def check(engine: ScoringEngine, plan: ScoringPlan, inputs: Inputs) -> None:
    """Refuse a plan the engine declares a gap for, or inputs the plan does not have."""
    gap = needs(plan)
    if gap is not None:
        refuse_gap(engine, gap)
    _check_inputs(plan, inputs)
