"""One exception tree under ``CredoError`` (ADR 0019): every error Credo raises on purpose is in it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import credo
from credo import errors
from credo.api.problems import CODES, PROBLEMS, Problem, problem_code
from credo.errors import CredoError


def _exception_classes() -> list[type[BaseException]]:
    """Every public exception class defined in Credo outside ``domain/`` (which raises ``ValueError``)."""
    found = []
    for info in pkgutil.walk_packages(credo.__path__, "credo."):
        if info.name.startswith(("credo.domain", "credo.store.migrations")):  # migrations: run by Alembic only
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            defined_here = inspect.isclass(value) and value.__module__ == module.__name__
            if defined_here and issubclass(value, BaseException) and not name.startswith("_"):
                found.append(value)
    return found


def test_every_error_credo_defines_is_under_one_root() -> None:
    classes = _exception_classes()
    assert len(classes) >= 15
    assert [cls.__qualname__ for cls in classes if not issubclass(cls, CredoError)] == []


def test_the_docstring_draws_every_class_of_the_tree() -> None:
    assert errors.__doc__ is not None
    for cls in [*_exception_classes(), CredoError]:
        assert f"── {cls.__name__} " in errors.__doc__ or cls is CredoError, cls.__name__


@pytest.mark.parametrize(
    ("where", "name"),
    [
        ("credo.store.errors", "StoreError"),
        ("credo.store.errors", "AuditChainError"),
        ("credo.services.scores", "SubjectNotInStore"),
        ("credo.store.rulebooks", "NoActiveRulebookError"),
        ("credo.services.explain_files", "SubjectNotFound"),
        ("credo.api.auth", "AuthError"),
        ("credo.rulebook_file", "RulebookError"),
        ("credo.adapters.webhook_http", "DeliveryError"),
        ("credo.batch.engine", "OutputError"),
        ("credo.batch.reader", "InputError"),
    ],
)
def test_errors_stay_importable_from_where_they_were(where: str, name: str) -> None:
    cls = getattr(importlib.import_module(where), name)
    assert issubclass(cls, CredoError)


def test_each_class_of_the_table_answers_with_a_known_code() -> None:
    assert set(PROBLEMS.values()) <= set(CODES)
    assert problem_code(errors.StorageFullError("full")) == "storage-full"
    assert problem_code(errors.SubjectNotInStore("no subject")) == "not-found"
    assert problem_code(errors.NoActiveRulebookError("none")) == "unprocessable"
    assert problem_code(errors.DeliveryError("refused")) is None  # never a request's fault: a 500
    assert issubclass(Problem, CredoError)
