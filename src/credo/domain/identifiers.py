"""The two default identifier schemes and their check characters.

* Organisations: the Unified Social Credit Code (GB 32100-2015), whose
  positions 9-17 are an organisation code (GB 11714) with its own check.
* Persons: the resident identity number (GB 11643-1999), with a real birth
  date and a check character.

``problem_with_*`` return ``None`` for a valid identifier and otherwise a
short reason that never repeats the identifier itself (reasons end up in
reject files and logs, which must not carry personal identifiers).
The ``make_*`` helpers build valid identifiers for tests and the demo.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping

__all__ = [
    "ORG_CODE_WEIGHTS",
    "RESIDENT_ID_CHECK",
    "RESIDENT_ID_WEIGHTS",
    "USCC_ALPHABET",
    "USCC_WEIGHTS",
    "IdProblem",
    "make_resident_id",
    "make_uscc",
    "mask_identifier",
    "mask_identifiers_in",
    "mask_raw_row",
    "org_code_check",
    "problem_with_identifier",
    "problem_with_resident_id",
    "problem_with_uscc",
    "resident_id_check",
    "uscc_check",
]

USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_ID_CHECK = "10X98765432"


class IdProblem:
    """Identifier reasons, shared word for word with the SQL checks of the batch engine."""

    ORG_LENGTH = "organisation identifier must have 18 characters"
    ORG_ALPHABET = "organisation identifier has a character outside the USCC alphabet"
    ORG_CODE_CHECK = "organisation identifier: embedded organisation code fails its check character"
    ORG_CHECK = "organisation identifier fails its check character"
    PERSON_LENGTH = "person identifier must have 18 characters"
    PERSON_DIGITS = "person identifier must start with 17 digits"
    PERSON_BIRTH = "person identifier has a birth date that does not exist"
    PERSON_CHECK = "person identifier fails its check character"


def _org_char_value(ch: str) -> int:
    """Digits are 0-9 and letters A=10 ... Z=35, as GB 11714 counts them."""
    return int(ch) if ch.isdigit() else ord(ch) - ord("A") + 10


def org_code_check(first8: str) -> str:
    """The 9th character of an organisation code, from its first eight."""
    total = sum(_org_char_value(c) * w for c, w in zip(first8, ORG_CODE_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def uscc_check(first17: str) -> str:
    """The 18th character of a Unified Social Credit Code."""
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def resident_id_check(first17: str) -> str:
    """The 18th character of a resident identity number."""
    total = sum(int(c) * w for c, w in zip(first17, RESIDENT_ID_WEIGHTS, strict=True))
    return RESIDENT_ID_CHECK[total % 11]


def problem_with_uscc(code: str) -> str | None:
    if len(code) != 18:
        return IdProblem.ORG_LENGTH
    if any(c not in USCC_ALPHABET for c in code):
        return IdProblem.ORG_ALPHABET
    if org_code_check(code[8:16]) != code[16]:
        return IdProblem.ORG_CODE_CHECK
    if uscc_check(code[:17]) != code[17]:
        return IdProblem.ORG_CHECK
    return None


def problem_with_resident_id(number: str) -> str | None:
    if len(number) != 18:
        return IdProblem.PERSON_LENGTH
    if not number[:17].isascii() or not number[:17].isdigit():
        return IdProblem.PERSON_DIGITS
    try:
        dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return IdProblem.PERSON_BIRTH
    if resident_id_check(number[:17]) != number[17]:
        return IdProblem.PERSON_CHECK
    return None


def problem_with_identifier(subject_id: str, subject_kind: str) -> str | None:
    """Check an identifier against the default scheme of its subject kind."""
    if subject_kind == "person":
        return problem_with_resident_id(subject_id)
    if subject_kind == "organization":
        return problem_with_uscc(subject_id)
    return "subject_kind must be person or organization"


def make_uscc(registry: str, org8: str) -> str:
    """A valid USCC from its first eight characters and an organisation code body.

    ``registry`` is positions 1-8 (authority, type, region), ``org8`` the first
    eight characters of the organisation code (digits and USCC letters).
    """
    first17 = registry + org8 + org_code_check(org8)
    return first17 + uscc_check(first17)


def make_resident_id(area: str, birth: dt.date, sequence: int) -> str:
    """A valid resident identity number for an area code, birth date and sequence."""
    first17 = f"{area}{birth:%Y%m%d}{sequence:03d}"
    return first17 + resident_id_check(first17)


def mask_identifier(identifier: object) -> str:
    """Enough to tell identifiers apart on a screen, not enough to identify anyone.

    The one masking of identifiers shown to people. It takes any value a source
    may have sent as an identifier: text as it is, anything else (a number, a
    list, an object) as its JSON text, so a number or a nested value is masked
    like text; ``None`` shows as nothing.
    """
    if identifier is None:
        return ""
    text = identifier if isinstance(identifier, str) else json.dumps(identifier, ensure_ascii=False, default=str)
    if len(text) <= 6:
        return "*" * len(text)
    return text[:4] + "*" * (len(text) - 6) + text[-2:]


# A run of letters and digits as long as an identifier can be (15 digits in the old resident numbers, 18 now).
_IDENTIFIER_LIKE = re.compile(r"[0-9A-Za-z]{15,}")


def mask_identifiers_in(text: str) -> str:
    """Free text (a row that was not a record) with every run that could be an identifier masked."""
    return _IDENTIFIER_LIKE.sub(lambda found: mask_identifier(found.group()), text)


def mask_raw_row(raw: object) -> dict[str, object]:
    """A row as received, fit to show: ``subject_id`` masked whatever its type, free text masked where it
    could hold an identifier; a row that is not an object becomes ``{"text": ...}`` masked the same way."""
    if not isinstance(raw, Mapping):
        return {"text": mask_identifiers_in(json.dumps(raw, ensure_ascii=False, default=str))}
    shown = dict(raw)
    if shown.get("subject_id") is not None:
        shown["subject_id"] = mask_identifier(shown["subject_id"])
    if isinstance(shown.get("text"), str):
        shown["text"] = mask_identifiers_in(str(shown["text"]))
    return shown
