"""Credo's HTTP API (FastAPI): a thin layer over the store's services; docs/api.md describes it."""
