"""Every API answer and command-line output of the scanned tests is searched for identifiers (issue 11, finding 3).

An identifier shown to a person is masked (``credo.domain.identifiers.mask_identifier``)
unless it is the caller's own: the subject's token, or an identifier the
caller sent itself (in the URL, the body, or on the command line). Anything
else that reads as a person's resident identity number or an organisation's
USCC, check characters included, fails the test that produced it.

``conftest.py`` turns the scan on for the modules in ``SCANNED``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import jwt
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from credo.domain.identifiers import problem_with_resident_id, problem_with_uscc

__all__ = ["SCANNED", "scanning", "unmasked_identifiers"]

# The walks: through the API and the command line, as people use them.
SCANNED = frozenset(
    {
        "test_api",
        "test_api_roles",
        "test_cli_api",
        "test_cli_ingest",
        "test_cli_score",
        "test_cli_store",
        "test_due_process_walk",
        "test_identifier_masking",
        "test_personal_reads",
        "test_terminal_output",
        "test_dispute_cli",
        "test_response_models",
        "test_disputes",
        "test_consent_api",
        "test_moved_records",
        "test_api_errors",
        "test_delivery",
        "test_rulebook_cli",
        "test_cli_batch",
        "test_webhook_hardening",
        "test_quickstart",
        "test_demo",
    }
)

# 18 identifier characters standing alone (not inside a longer run such as a hash or a token).
_CANDIDATE = re.compile(r"(?<![0-9A-Za-z.])[0-9A-Z]{18}(?![0-9A-Za-z])")  # not the digits of a decimal fraction


def _is_identifier(text: str) -> bool:
    return problem_with_resident_id(text) is None or problem_with_uscc(text) is None


def unmasked_identifiers(text: str, own: Iterable[str] = ()) -> set[str]:
    """The valid identifiers in ``text`` that are not among ``own``."""
    allowed = set(own)
    return {found for found in _CANDIDATE.findall(text) if found not in allowed and _is_identifier(found)}


def _own_in_request(request: Any) -> set[str]:
    sent = str(request.url) + request.content.decode("utf-8", "replace")
    own = set(_CANDIDATE.findall(sent))
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token:
        try:
            claims = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return own
        own.add(str(claims.get("sub")))
    return own


@contextmanager
def scanning(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Check every TestClient answer and every CliRunner output while the block runs."""
    request = TestClient.request
    invoke = CliRunner.invoke

    def checked_request(self: TestClient, *args: Any, **kwargs: Any) -> Any:
        response = request(self, *args, **kwargs)
        leaked = unmasked_identifiers(response.text, _own_in_request(response.request))
        where = f"{response.request.method} {response.request.url.path}"
        assert not leaked, f"{where} answered with identifiers that are not the caller's: {sorted(leaked)}"
        return response

    def checked_invoke(self: CliRunner, cli: Any, args: Any = None, *rest: Any, **kwargs: Any) -> Any:
        result = invoke(self, cli, args, *rest, **kwargs)
        given = " ".join(args) if isinstance(args, list | tuple) else str(args or "")
        output = result.stdout + result.stderr
        leaked = unmasked_identifiers(output, _CANDIDATE.findall(given))
        assert not leaked, f"credo {given} printed identifiers it was not given: {sorted(leaked)}"
        return result

    monkeypatch.setattr(TestClient, "request", checked_request)
    monkeypatch.setattr(CliRunner, "invoke", checked_invoke)
    yield
