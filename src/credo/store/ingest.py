"""Temporary: ``api/routes_operator.py`` still imports :func:`retry_quarantine` from here.

The ingestion use case moved to :mod:`credo.services.ingest` (issue 12). That route is being changed on another
branch; when it imports the service, delete this module and its line in ``NOT_YET`` (tests/test_layering.py).
"""

from __future__ import annotations

from credo.services.ingest import retry_quarantine

__all__ = ["retry_quarantine"]
