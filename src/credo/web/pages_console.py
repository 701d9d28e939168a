"""The operators' console under ``/operator``, its three parts in one router for the site (docs/web.md)."""

from __future__ import annotations

from fastapi import APIRouter

from credo.web import pages_operator, pages_operator_queues, pages_operator_rulebooks

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
router.include_router(pages_operator_rulebooks.router)
router.include_router(pages_operator_queues.router)
router.include_router(pages_operator.router)
