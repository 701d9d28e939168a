"""Hosts webhooks may reach although private, local or plain http: kept in the store, seen by every process.

A deployment's own receivers often sit on its private network. Naming them
in an environment variable reached only the process started with it: set for
``credo webhook set`` but not for the running ``credo serve``, the webhook
was accepted and every delivery then refused. So the list lives in the store
(``store_meta``), changed by ``credo webhook allow-host`` / ``disallow-host``
(audited), and every process reads it. ``CREDO_WEBHOOK_ALLOW_HOSTS``
(comma-separated) is still honoured, for the one process it is set for
(tests, a one-off run), added to the store's list.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping

import sqlalchemy as sa
from sqlalchemy import Connection

from credo.domain.delivery import host_key, host_problem
from credo.store.errors import StoreError
from credo.store.tables import store_meta

__all__ = ["ENV_ALLOW_HOSTS", "allow_host", "allowed_hosts", "disallow_host", "stored_hosts"]

ENV_ALLOW_HOSTS = "CREDO_WEBHOOK_ALLOW_HOSTS"
_NAME = "webhook_allow_hosts"


def stored_hosts(connection: Connection) -> list[str]:
    """The hosts allowed in the store, sorted."""
    text = connection.execute(sa.select(store_meta.c.value).where(store_meta.c.name == _NAME)).scalar()
    return sorted(json.loads(text)) if text else []


def allowed_hosts(connection: Connection, environ: Mapping[str, str] | None = None) -> frozenset[str]:
    """The store's list and, for this process only, ``CREDO_WEBHOOK_ALLOW_HOSTS``."""
    env = os.environ if environ is None else environ
    from_env = {host_key(h) for h in env.get(ENV_ALLOW_HOSTS, "").split(",") if h.strip()}
    return frozenset(stored_hosts(connection)) | from_env


def _save(connection: Connection, hosts: list[str]) -> None:
    text = json.dumps(sorted(hosts))
    if connection.execute(sa.update(store_meta).where(store_meta.c.name == _NAME).values(value=text)).rowcount == 0:
        connection.execute(sa.insert(store_meta).values(name=_NAME, value=text))


def allow_host(connection: Connection, host: str) -> tuple[str, bool]:
    """Allow ``host`` (in its compared form, returned); False if it was allowed already."""
    key = host_key(host)
    problem = host_problem(key)
    if problem is not None:
        raise StoreError(problem)
    hosts = stored_hosts(connection)
    if key in hosts:
        return key, False
    _save(connection, [*hosts, key])
    return key, True


def disallow_host(connection: Connection, host: str) -> str:
    """Take ``host`` off the store's list (webhooks to it are then refused when sent); returns its compared form."""
    key = host_key(host)
    hosts = stored_hosts(connection)
    if key not in hosts:
        raise StoreError(f"{key} is not in the store's list of allowed hosts")
    _save(connection, [h for h in hosts if h != key])
    return key
