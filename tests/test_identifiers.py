"""The two default identifier schemes (SCORING.md, Identifiers).

All identifiers are synthetic, built with the make_* helpers.
"""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from credo.domain.identifiers import (
    RESIDENT_ID_CHECK,
    USCC_ALPHABET,
    IdProblem,
    make_resident_id,
    make_uscc,
    org_code_check,
    problem_with_identifier,
    problem_with_resident_id,
    problem_with_uscc,
    resident_id_check,
    uscc_check,
)

uscc_chars = st.text(alphabet=USCC_ALPHABET, min_size=8, max_size=8)
area_codes = st.text(alphabet="0123456789", min_size=6, max_size=6)
birth_dates = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2099, 12, 31))
sequences = st.integers(min_value=0, max_value=999)

usccs = st.builds(make_uscc, uscc_chars, uscc_chars)
resident_ids = st.builds(make_resident_id, area_codes, birth_dates, sequences)


# -- values computed by hand from the weights in SCORING.md ------------------


def test_resident_id_check_character_computed_by_hand() -> None:
    # 1 1 0 1 0 1 1 9 9 0 0 1 0 1 0 0 1 against 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2:
    # 7+9+0+5+0+4+2+9+54+0+0+9+0+5+0+0+2 = 106; 106 mod 11 = 7; "10X98765432"[7] = "5".
    assert make_resident_id("110101", dt.date(1990, 1, 1), 1) == "110101199001010015"
    assert resident_id_check("11010119900101001") == "5"


def test_uscc_check_characters_computed_by_hand() -> None:
    # Organisation code MA000001: M=22, A=10 -> 66 + 70 + 1*2 = 138; 138 mod 11 = 6; 11 - 6 = 5.
    assert org_code_check("MA000001") == "5"
    # USCC 91110101MA0000015 (M=21, A=10 in the USCC alphabet):
    # 9+3+9+27+0+26+0+17+420+290+0+0+0+0+0+30+140 = 971; 971 mod 31 = 10; (31 - 10) mod 31 = 21 -> "M".
    assert uscc_check("91110101MA0000015") == "M"
    assert make_uscc("91110101", "MA000001") == "91110101MA0000015M"


@pytest.mark.parametrize(
    ("first8", "check"),
    [
        ("00000000", "0"),  # sum 0: 11 - 0 = 11, written 0
        ("00000005", "1"),  # 5*2 = 10: 11 - 10 = 1
        ("00000001", "9"),  # 1*2 = 2: 11 - 2 = 9
        ("10000000", "8"),  # 1*3 = 3: 11 - 3 = 8
        ("000A0000", "X"),  # A=10 at weight 10: 100 = 1 mod 11, 11 - 1 = 10, written X
        ("Y0000000", "8"),  # Y=34 at weight 3: 102 = 3 mod 11, 11 - 3 = 8
    ],
)
def test_org_code_check_values(first8: str, check: str) -> None:
    assert org_code_check(first8) == check


# -- round trips --------------------------------------------------------------


@given(uscc_chars, uscc_chars)
def test_make_uscc_is_valid(registry: str, org8: str) -> None:
    code = make_uscc(registry, org8)
    assert len(code) == 18
    assert code[:8] == registry
    assert code[8:16] == org8
    assert problem_with_uscc(code) is None
    assert problem_with_identifier(code, "organization") is None


@given(area_codes, birth_dates, sequences)
def test_make_resident_id_is_valid(area: str, birth: dt.date, sequence: int) -> None:
    number = make_resident_id(area, birth, sequence)
    assert len(number) == 18
    assert number[:6] == area
    assert dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14])) == birth
    assert int(number[14:17]) == sequence
    assert number[17] in RESIDENT_ID_CHECK
    assert problem_with_resident_id(number) is None
    assert problem_with_identifier(number, "person") is None


# -- check characters catch every single-character error ----------------------


@given(usccs)
def test_every_other_uscc_check_character_is_refused(code: str) -> None:
    for ch in USCC_ALPHABET:
        if ch != code[17]:
            assert problem_with_uscc(code[:17] + ch) == IdProblem.ORG_CHECK


@given(usccs)
def test_every_single_character_change_of_a_uscc_is_detected(code: str) -> None:
    # 31 is prime and no weight is 0 mod 31, so any substitution changes the sum.
    for position in range(18):
        for ch in USCC_ALPHABET:
            if ch != code[position]:
                changed = code[:position] + ch + code[position + 1 :]
                assert problem_with_uscc(changed) is not None, (position, ch)


@given(resident_ids)
def test_every_other_resident_id_check_character_is_refused(number: str) -> None:
    for ch in RESIDENT_ID_CHECK:
        if ch != number[17]:
            assert problem_with_resident_id(number[:17] + ch) == IdProblem.PERSON_CHECK


@given(resident_ids)
def test_every_single_digit_change_of_a_resident_id_is_detected(number: str) -> None:
    # 11 is prime and no weight is 0 mod 11; a change in the birth date may instead make it impossible.
    for position in range(17):
        for ch in "0123456789":
            if ch != number[position]:
                changed = number[:position] + ch + number[position + 1 :]
                assert problem_with_resident_id(changed) in {IdProblem.PERSON_CHECK, IdProblem.PERSON_BIRTH}


# -- the embedded organisation code ------------------------------------------


@given(usccs, st.sampled_from(USCC_ALPHABET))
def test_embedded_organisation_code_check_failure(code: str, wrong: str) -> None:
    if wrong == code[16]:
        wrong = USCC_ALPHABET[(USCC_ALPHABET.index(wrong) + 1) % len(USCC_ALPHABET)]
    first17 = code[:16] + wrong
    # The outer check character is right for the changed body: only the inner check fails.
    changed = first17 + uscc_check(first17)
    assert problem_with_uscc(changed) == IdProblem.ORG_CODE_CHECK


# -- malformed identifiers ------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "ok"),
    [
        ("19900230", False),  # February 30
        ("20230229", False),  # not a leap year
        ("20240229", True),  # a leap year
        ("19001301", False),  # month 13
        ("19900100", False),  # day 0
        ("19900431", False),  # April has 30 days
        ("00000101", False),  # year 0 does not exist
    ],
)
def test_birth_date_must_exist(birth: str, ok: bool) -> None:
    first17 = f"110101{birth}001"
    number = first17 + resident_id_check(first17)  # a correct check character: only the date can fail
    assert problem_with_resident_id(number) == (None if ok else IdProblem.PERSON_BIRTH)


@pytest.mark.parametrize("bad", ["I", "O", "S", "V", "Z", "a", "m", "-", " ", "Ä"])
def test_uscc_character_outside_the_alphabet(bad: str) -> None:
    code = make_uscc("91110101", "MA000001")
    assert problem_with_uscc(code[:10] + bad + code[11:]) == IdProblem.ORG_ALPHABET


@pytest.mark.parametrize("bad", ["A", "x", " ", "-", "\u0661"])  # \u0661 is an Arabic-Indic digit one
def test_resident_id_body_must_be_ascii_digits(bad: str) -> None:
    number = make_resident_id("110101", dt.date(1990, 1, 1), 1)
    assert problem_with_resident_id(number[:3] + bad + number[4:]) == IdProblem.PERSON_DIGITS


def test_resident_id_check_x_is_uppercase() -> None:
    number = next(
        make_resident_id("110101", dt.date(1990, 1, 1), seq)
        for seq in range(1000)
        if make_resident_id("110101", dt.date(1990, 1, 1), seq).endswith("X")
    )
    assert problem_with_resident_id(number) is None
    assert problem_with_resident_id(number[:17] + "x") == IdProblem.PERSON_CHECK


@pytest.mark.parametrize("length", [0, 1, 17, 19, 36])
def test_wrong_length(length: int) -> None:
    code = (make_uscc("91110101", "MA000001") * 2)[:length]
    number = (make_resident_id("110101", dt.date(1990, 1, 1), 1) * 2)[:length]
    assert problem_with_uscc(code) == IdProblem.ORG_LENGTH
    assert problem_with_resident_id(number) == IdProblem.PERSON_LENGTH


def test_scheme_must_match_the_kind() -> None:
    person = make_resident_id("110101", dt.date(1990, 1, 1), 1)
    org = make_uscc("91110101", "MA000001")
    assert problem_with_identifier(org, "person") == IdProblem.PERSON_DIGITS
    assert problem_with_identifier(person, "organization") is not None
    assert problem_with_identifier(person, "robot") == "subject_kind must be person or organization"


@given(st.text(max_size=25), st.sampled_from(["person", "organization"]))
def test_reasons_never_repeat_the_identifier(text: str, kind: str) -> None:
    problem = problem_with_identifier(text, kind)
    if problem is not None and len(text) >= 4:
        assert text not in problem
