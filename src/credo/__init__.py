"""Credo: a social credit system that keeps its promises."""

__version__ = "0.1.0"
