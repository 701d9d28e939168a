"""Engines that run a compiled scoring plan: one interface, chosen by name (docs/adr/0018-engine-seam.md)."""

from credo.engines.base import (
    EngineError,
    Gap,
    ScoringEngine,
    UnknownEngine,
    Unsupported,
    get,
    names,
    refuse_gap,
    register,
)

__all__ = [
    "EngineError",
    "Gap",
    "ScoringEngine",
    "UnknownEngine",
    "Unsupported",
    "get",
    "names",
    "refuse_gap",
    "register",
]
