"""Tests for kopeck.core.requisites (ИНН, КПП, ОГРН, ОГРНИП, БИК, bank accounts)."""

from __future__ import annotations

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from stdnum.ru import inn as stdnum_inn
from stdnum.ru import ogrn as stdnum_ogrn

from kopeck.core.requisites import (
    RequisiteError,
    inn_check_digits,
    validate_bik,
    validate_correspondent_account,
    validate_inn,
    validate_kpp,
    validate_ogrn,
    validate_ogrnip,
    validate_settlement_account,
)

# Public vectors: ПАО Сбербанк.
SBER_INN = "7707083893"
SBER_KPP = "773601001"
SBER_OGRN = "1027700132195"
SBER_BIK = "044525225"
SBER_CORR = "30101810400000000225"
PERSON_INN = "500100732259"

# A settlement account built for this test (the 9th digit is the check key) at Sberbank's БИК.
# Hand verification: last 3 digits of the БИК "225" + account "40702810938000012345":
#   digits   2  2  5  4  0  7  0  2  8  1  0  9  3  8  0  0  0  0  1  2  3  4  5
#   weights  7  1  3  7  1  3  7  1  3  7  1  3  7  1  3  7  1  3  7  1  3  7  1
#   product 14  2 15 28  0 21  0  2 24  7  0 27 21  8  0  0  0  0  7  2  9 28  5
#   last     4  2  5  8  0  1  0  2  4  7  0  7  1  8  0  0  0  0  7  2  9  8  5
#   sum = 4+2+5+8+0+1+0+2+4+7+0+7+1+8+0+0+0+0+7+2+9+8+5 = 80 → 80 mod 10 = 0 → valid.
SETTLEMENT = "40702810938000012345"

# The correspondent account, by hand: "0" + БИК digits 5–6 ("25") + "30101810400000000225":
#   digits   0  2  5  3  0  1  0  1  8  1  0  4  0  0  0  0  0  0  0  0  2  2  5
#   weights  7  1  3  7  1  3  7  1  3  7  1  3  7  1  3  7  1  3  7  1  3  7  1
#   product  0  2 15 21  0  3  0  1 24  7  0 12  0  0  0  0  0  0  0  0  6 14  5
#   last     0  2  5  1  0  3  0  1  4  7  0  2  0  0  0  0  0  0  0  0  6  4  5
#   sum = 0+2+5+1+0+3+0+1+4+7+0+2+0+…+0+6+4+5 = 40 → 40 mod 10 = 0 → valid.


def _error(func: object, *args: str, **kwargs: str | None) -> RequisiteError:
    assert callable(func)
    with pytest.raises(RequisiteError) as excinfo:
        func(*args, **kwargs)
    return excinfo.value


# --------------------------------------------------------------------------------------------
# RequisiteError


def test_requisite_error_is_value_error_with_bilingual_messages() -> None:
    err = _error(validate_inn, "7707083894")
    assert isinstance(err, ValueError)
    assert err.code == "inn_checksum"
    assert err.field == "inn"
    assert err.message_en == "INN: invalid check digit (expected 3, got 4)"
    assert err.message_ru == "ИНН: неверное контрольное число (ожидалось 3, указано 4)"
    assert str(err) == err.message_en


# --------------------------------------------------------------------------------------------
# ИНН


@pytest.mark.parametrize("value", [SBER_INN, PERSON_INN, "1234567894", "123456789047"])
def test_inn_valid(value: str) -> None:
    assert validate_inn(value) == value


def test_inn_strips_surrounding_whitespace() -> None:
    assert validate_inn(f"  {SBER_INN}\t\n") == SBER_INN
    assert validate_inn(f"\u00a0{PERSON_INN} ") == PERSON_INN


def test_inn_kind_legal_and_individual() -> None:
    assert validate_inn(SBER_INN, kind="legal") == SBER_INN
    assert validate_inn(PERSON_INN, kind="individual") == PERSON_INN
    assert _error(validate_inn, PERSON_INN, kind="legal").code == "inn_length"
    assert _error(validate_inn, SBER_INN, kind="individual").code == "inn_length"


def test_inn_kind_legal_message_names_expected_length() -> None:
    err = _error(validate_inn, PERSON_INN, kind="legal")
    assert err.message_en == "INN of a legal entity must have 10 digits, got 12"
    assert err.message_ru == "ИНН юридического лица должен содержать 10 цифр, получено 12"


def test_inn_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown INN kind 'company'") as excinfo:
        validate_inn(SBER_INN, kind="company")
    assert not isinstance(excinfo.value, RequisiteError)


@pytest.mark.parametrize(
    "value",
    [
        "7707083894",  # check digit 3 → 4
        "7707083993",  # digit 8 changed
        "1707083893",  # first digit changed
        "500100732258",  # second check digit changed
        "500100732269",  # first check digit changed
        "500100733259",  # digit 10 changed
    ],
)
def test_inn_wrong_checksum(value: str) -> None:
    assert _error(validate_inn, value).code == "inn_checksum"


@pytest.mark.parametrize("value", ["770708389", "77070838930", "5001007322590", "1", ""])
def test_inn_wrong_length(value: str) -> None:
    err = _error(validate_inn, value)
    assert err.code == "inn_length"


def test_inn_wrong_length_message() -> None:
    err = _error(validate_inn, "77070838930")
    assert err.message_en == "INN must have 10 or 12 digits, got 11"
    assert err.message_ru == "ИНН должен содержать 10 или 12 цифр, получено 11"


@pytest.mark.parametrize(
    "value",
    ["77070838A3", "7707 083893", "7707-083893", "７７０７０８３８９３", "770708389٣", "-707083893"],
)
def test_inn_non_digits(value: str) -> None:
    assert _error(validate_inn, value).code == "format"


def test_inn_non_digit_message_names_character_and_position() -> None:
    err = _error(validate_inn, "77070838A3")
    assert err.message_en == "INN must contain digits only; invalid character 'A' at position 9"
    assert err.message_ru == "ИНН должен состоять только из цифр; недопустимый символ 'A' в позиции 9"


@pytest.mark.parametrize(("value", "checks"), [("0000000000", 1), ("000000000000", 2)])
def test_inn_all_zeros_refused_although_checksum_passes(value: str, checks: int) -> None:
    assert inn_check_digits(value[:-checks]) == "0" * checks
    err = _error(validate_inn, value)
    assert err.code == "all_zeros"
    assert err.message_en == "INN cannot consist of zeros only"


def test_inn_not_a_string() -> None:
    assert _error(validate_inn, 7707083893).code == "format"  # type: ignore[arg-type]


def test_inn_check_digits() -> None:
    assert inn_check_digits("770708389") == "3"
    assert inn_check_digits("5001007322") == "59"
    assert inn_check_digits("123456789") == "4"
    assert inn_check_digits("1234567890") == "47"


@pytest.mark.parametrize(
    ("value", "code"), [("12345678", "inn_length"), ("12345678901", "inn_length"), ("12345678X", "format")]
)
def test_inn_check_digits_bad_input(value: str, code: str) -> None:
    assert _error(inn_check_digits, value).code == code


# --------------------------------------------------------------------------------------------
# КПП


@pytest.mark.parametrize(
    "value", [SBER_KPP, "7736AB001", "7736ZZ001", "77360A001", "7736A0001", " 773601001 "]
)
def test_kpp_valid(value: str) -> None:
    assert validate_kpp(value) == value.strip()


def test_kpp_first_four_digits_need_not_match_inn() -> None:
    # Sberbank's ИНН starts with 7707 but its КПП (major-taxpayer office) starts with 7736.
    assert validate_kpp(SBER_KPP) == SBER_KPP
    assert validate_kpp("500101001") == "500101001"


@pytest.mark.parametrize(
    "value",
    [
        "A73601001",  # letter in the tax-office part
        "773A01001",
        "773601A01",  # letter in the serial number part
        "77360100A",
        "7736ab001",  # lowercase latin
        "7736АВ001",  # Cyrillic А and В that look like latin
        "7736-B001",
        "7736 0001",
    ],
)
def test_kpp_bad_format(value: str) -> None:
    assert _error(validate_kpp, value).code == "format"


def test_kpp_bad_format_message() -> None:
    err = _error(validate_kpp, "A73601001")
    assert err.message_en == (
        "KPP: positions 1–4 and 7–9 must be digits, positions 5–6 digits or uppercase latin "
        "letters A–Z; got 'A73601001'"
    )
    assert err.message_ru.startswith("КПП: позиции 1–4 и 7–9 — цифры")


@pytest.mark.parametrize("value", ["77360100", "7736010010", ""])
def test_kpp_wrong_length(value: str) -> None:
    err = _error(validate_kpp, value)
    assert err.code == "kpp_length"


def test_kpp_all_zeros() -> None:
    assert _error(validate_kpp, "000000000").code == "all_zeros"


# --------------------------------------------------------------------------------------------
# ОГРН


@pytest.mark.parametrize("value", [SBER_OGRN, "1022200525819", " 1027700132195\n"])
def test_ogrn_valid(value: str) -> None:
    assert validate_ogrn(value) == value.strip()


@pytest.mark.parametrize("value", ["1027700132194", "1027700132196", "1027700133195", "1022500001328"])
def test_ogrn_wrong_checksum(value: str) -> None:
    assert _error(validate_ogrn, value).code == "ogrn_checksum"


def test_ogrn_wrong_checksum_message() -> None:
    err = _error(validate_ogrn, "1027700132194")
    assert err.message_en == "OGRN: invalid check digit (expected 5, got 4)"
    assert err.message_ru == "ОГРН: неверное контрольное число (ожидалось 5, указано 4)"


@pytest.mark.parametrize("value", ["102770013219", "10277001321950", "304500000000010"])
def test_ogrn_wrong_length(value: str) -> None:
    assert _error(validate_ogrn, value).code == "ogrn_length"


@pytest.mark.parametrize("value", ["10277001321Q5", "1027700 132195"])
def test_ogrn_non_digits(value: str) -> None:
    assert _error(validate_ogrn, value).code == "format"


def test_ogrn_leading_zero() -> None:
    # A leading 0 is refused as such, whatever the check digit.
    err = _error(validate_ogrn, "0027700132195")
    assert err.code == "ogrn_prefix"
    assert err.message_en == "OGRN cannot start with 0"


def test_ogrn_all_zeros() -> None:
    assert _error(validate_ogrn, "0000000000000").code == "all_zeros"


# --------------------------------------------------------------------------------------------
# ОГРНИП


@pytest.mark.parametrize(
    "value",
    [
        "304500000000010",  # prefix mod 13 = 10 → check digit 0 (the reference vector)
        "304500000000021",  # prefix mod 13 = 11 → check digit 1
        "304500000000032",  # prefix mod 13 = 12 → check digit 2
        "304770000000008",  # mod 13 = 8
        "312774600123451",  # mod 13 = 1
        "404770000000016",  # starts with 4, mod 13 = 6
        "385768585948949",  # python-stdnum's documented example, mod 13 = 9
        " 304500000000010 ",
    ],
)
def test_ogrnip_valid(value: str) -> None:
    assert validate_ogrnip(value) == value.strip()


@pytest.mark.parametrize(
    "value",
    [
        "304500000000011",
        "304500000000019",
        "304500000000020",
        "304770000000007",
        "312774600123450",
        "312774600123461",  # a body digit changed (remainder becomes 2)
        "312784600123451",  # a body digit changed (remainder becomes 0)
    ],
)
def test_ogrnip_wrong_checksum(value: str) -> None:
    assert _error(validate_ogrnip, value).code == "ogrnip_checksum"


def test_ogrnip_remainder_ten_reports_last_digit() -> None:
    err = _error(validate_ogrnip, "304500000000011")
    assert err.message_en == "OGRNIP: invalid check digit (expected 0, got 1)"


@pytest.mark.parametrize(
    "value", ["504500000000010", "004500000000010", "204500000000010", "104500000000010"]
)
def test_ogrnip_wrong_first_digit(value: str) -> None:
    assert _error(validate_ogrnip, value).code == "ogrnip_prefix"


def test_ogrnip_given_an_ogrn_is_a_length_error() -> None:
    assert _error(validate_ogrnip, SBER_OGRN).code == "ogrnip_length"


def test_ogrnip_wrong_first_digit_message() -> None:
    err = _error(validate_ogrnip, "504500000000010")
    assert err.message_en == "OGRNIP must start with 3 or 4, not 5"
    assert err.message_ru == "ОГРНИП должен начинаться с 3 или 4, а не с 5"


@pytest.mark.parametrize("value", ["30450000000001", "3045000000000100"])
def test_ogrnip_wrong_length(value: str) -> None:
    assert _error(validate_ogrnip, value).code == "ogrnip_length"


@pytest.mark.parametrize("value", ["30450000000001O", "3045000000000.0"])
def test_ogrnip_non_digits(value: str) -> None:
    assert _error(validate_ogrnip, value).code == "format"


def test_ogrnip_all_zeros() -> None:
    assert _error(validate_ogrnip, "000000000000000").code == "all_zeros"


def test_python_stdnum_rejects_ogrnip_with_remainder_ten_to_twelve() -> None:
    # Documented disagreement: python-stdnum 2.2 compares str(prefix % 13) (which can be "10",
    # "11" or "12") with the single check digit, so it rejects every ОГРНИП whose remainder is
    # 10–12. The reference rule takes the last digit of the remainder; we keep that behaviour.
    for value in ("304500000000010", "304500000000021", "304500000000032"):
        assert validate_ogrnip(value) == value
        assert not stdnum_ogrn.is_valid(value)


# --------------------------------------------------------------------------------------------
# БИК


@pytest.mark.parametrize("value", [SBER_BIK, "044030653", "040000000", " 044525225 "])
def test_bik_valid(value: str) -> None:
    assert validate_bik(value) == value.strip()


@pytest.mark.parametrize("value", ["144525225", "054525225", "004525225", "404525225"])
def test_bik_wrong_prefix(value: str) -> None:
    err = _error(validate_bik, value)
    assert err.code == "bik_prefix"


def test_bik_wrong_prefix_message() -> None:
    err = _error(validate_bik, "144525225")
    assert err.message_en == "a Russian BIK must start with 04, got 14"
    assert err.message_ru == "БИК российского банка должен начинаться с 04, получено 14"


@pytest.mark.parametrize("value", ["04452522", "0445252250", ""])
def test_bik_wrong_length(value: str) -> None:
    assert _error(validate_bik, value).code == "bik_length"


@pytest.mark.parametrize("value", ["04452522S", "044 525225"])
def test_bik_non_digits(value: str) -> None:
    assert _error(validate_bik, value).code == "format"


def test_bik_all_zeros() -> None:
    assert _error(validate_bik, "000000000").code == "all_zeros"


# --------------------------------------------------------------------------------------------
# Расчётный счёт


def test_settlement_account_hand_sum() -> None:
    # Recompute the table in the comment at the top of this file.
    digits = "225" + SETTLEMENT
    last_digits = [int(d) * (7, 1, 3)[i % 3] % 10 for i, d in enumerate(digits)]
    assert last_digits == [4, 2, 5, 8, 0, 1, 0, 2, 4, 7, 0, 7, 1, 8, 0, 0, 0, 0, 7, 2, 9, 8, 5]
    assert sum(last_digits) == 80


def test_settlement_account_valid() -> None:
    assert validate_settlement_account(SETTLEMENT, SBER_BIK) == SETTLEMENT
    assert validate_settlement_account(f" {SETTLEMENT} ", f" {SBER_BIK} ") == SETTLEMENT


@pytest.mark.parametrize("position", range(20))
def test_settlement_account_any_single_digit_change_breaks_it(position: int) -> None:
    changed = str((int(SETTLEMENT[position]) + 1) % 10)
    account = SETTLEMENT[:position] + changed + SETTLEMENT[position + 1 :]
    assert _error(validate_settlement_account, account, SBER_BIK).code == "settlement_account_checksum"


def test_settlement_account_belongs_to_its_bik() -> None:
    # The same account at another bank (БИК ending in 653 instead of 225) fails the key.
    err = _error(validate_settlement_account, SETTLEMENT, "044030653")
    assert err.code == "settlement_account_checksum"
    assert err.message_en == (
        "settlement account 40702810938000012345 does not match BIK 044030653: invalid check key"
    )


@pytest.mark.parametrize(
    ("account", "bik", "code"),
    [
        ("4070281093800001234", SBER_BIK, "settlement_account_length"),
        ("407028109380000123450", SBER_BIK, "settlement_account_length"),
        ("4070281093800001234X", SBER_BIK, "format"),
        ("00000000000000000000", SBER_BIK, "all_zeros"),
        (SETTLEMENT, "144525225", "bik_prefix"),
        (SETTLEMENT, "04452522", "bik_length"),
    ],
)
def test_settlement_account_errors(account: str, bik: str, code: str) -> None:
    assert _error(validate_settlement_account, account, bik).code == code


def test_settlement_account_all_zeros_refused_although_key_passes() -> None:
    # With a БИК ending in 000 every digit is 0, so the key sum is 0 — still refused.
    err = _error(validate_settlement_account, "00000000000000000000", "044525000")
    assert err.code == "all_zeros"
    assert err.message_en == "Settlement account cannot consist of zeros only"


# --------------------------------------------------------------------------------------------
# Корреспондентский счёт


def test_correspondent_account_hand_sum() -> None:
    digits = "0" + SBER_BIK[4:6] + SBER_CORR
    assert digits == "02530101810400000000225"
    last_digits = [int(d) * (7, 1, 3)[i % 3] % 10 for i, d in enumerate(digits)]
    assert last_digits == [0, 2, 5, 1, 0, 3, 0, 1, 4, 7, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 6, 4, 5]
    assert sum(last_digits) == 40


def test_correspondent_account_valid() -> None:
    assert validate_correspondent_account(SBER_CORR, SBER_BIK) == SBER_CORR
    assert validate_correspondent_account(f"\t{SBER_CORR} ", SBER_BIK) == SBER_CORR


@pytest.mark.parametrize("position", range(3, 20))
def test_correspondent_account_any_single_digit_change_breaks_it(position: int) -> None:
    changed = str((int(SBER_CORR[position]) + 1) % 10)
    account = SBER_CORR[:position] + changed + SBER_CORR[position + 1 :]
    assert _error(validate_correspondent_account, account, SBER_BIK).code == "correspondent_account_checksum"


def test_correspondent_account_other_subdivision_breaks_it() -> None:
    # БИК digits 5–6 take part in the key: 25 → 30.
    err = _error(validate_correspondent_account, SBER_CORR, "044030225")
    assert err.code == "correspondent_account_checksum"


@pytest.mark.parametrize(
    ("account", "bik", "code"),
    [
        (SETTLEMENT, SBER_BIK, "correspondent_account_prefix"),
        ("40101810400000000225", SBER_BIK, "correspondent_account_prefix"),
        ("3010181040000000022", SBER_BIK, "correspondent_account_length"),
        ("301018104000000002250", SBER_BIK, "correspondent_account_length"),
        ("30101810400000000 225", SBER_BIK, "format"),
        ("00000000000000000000", SBER_BIK, "all_zeros"),
        (SBER_CORR, "054525225", "bik_prefix"),
        (SBER_CORR, "04452522A", "format"),
    ],
)
def test_correspondent_account_errors(account: str, bik: str, code: str) -> None:
    assert _error(validate_correspondent_account, account, bik).code == code


def test_correspondent_account_prefix_message() -> None:
    err = _error(validate_correspondent_account, SETTLEMENT, SBER_BIK)
    assert err.message_en == "a correspondent account must start with 301, got 407"
    assert err.message_ru == "Корреспондентский счёт должен начинаться с 301, получено 407"


# --------------------------------------------------------------------------------------------
# Property tests

DIGITS = "0123456789"


def _digit_strings(size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=DIGITS, min_size=size, max_size=size)


def _nonzero_digit_strings(size: int) -> st.SearchStrategy[str]:
    return _digit_strings(size).filter(lambda s: s.strip("0") != "")


@given(prefix=_nonzero_digit_strings(9), wrong=st.sampled_from(DIGITS))
def test_property_legal_inn_built_from_check_digit(prefix: str, wrong: str) -> None:
    inn = prefix + inn_check_digits(prefix)
    assert validate_inn(inn, kind="legal") == inn
    assume(wrong != inn[-1])
    assert _error(validate_inn, prefix + wrong).code == "inn_checksum"


@given(prefix=_nonzero_digit_strings(10), position=st.sampled_from([10, 11]), wrong=st.sampled_from(DIGITS))
def test_property_individual_inn_built_from_check_digits(prefix: str, position: int, wrong: str) -> None:
    inn = prefix + inn_check_digits(prefix)
    assert validate_inn(inn, kind="individual") == inn
    assume(wrong != inn[position])
    broken = inn[:position] + wrong + inn[position + 1 :]
    assert _error(validate_inn, broken).code == "inn_checksum"


def _inn_candidates(size: int) -> st.SearchStrategy[str]:
    # Random strings are rarely valid (1 in 10 / 1 in 100), so mix in checksum-valid ones too.
    built = _digit_strings(size - (1 if size == 10 else 2)).map(lambda p: p + inn_check_digits(p))
    return st.one_of(_digit_strings(size), built).filter(lambda s: s.strip("0") != "")


def _accepts(func: object, value: str) -> bool:
    assert callable(func)
    try:
        func(value)
    except RequisiteError:
        return False
    return True


@given(value=st.one_of(_inn_candidates(10), _inn_candidates(12)))
def test_property_inn_agrees_with_python_stdnum(value: str) -> None:
    assert _accepts(validate_inn, value) == stdnum_inn.is_valid(value)


def _ogrn_candidates() -> st.SearchStrategy[str]:
    prefixes = st.tuples(st.sampled_from("15"), _digit_strings(11)).map("".join)
    built = prefixes.map(lambda p: p + str(int(p) % 11 % 10))
    random = st.tuples(prefixes, st.sampled_from(DIGITS)).map("".join)
    return st.one_of(random, built)


@given(value=_ogrn_candidates())
def test_property_ogrn_agrees_with_python_stdnum(value: str) -> None:
    # Restricted to first digit 1 or 5 (real ОГРН of legal entities), as specified.
    assert _accepts(validate_ogrn, value) == stdnum_ogrn.is_valid(value)


@given(
    prefix=st.tuples(st.sampled_from("34"), _digit_strings(13)).map("".join), check=st.sampled_from(DIGITS)
)
def test_property_ogrnip_agrees_with_python_stdnum_where_remainder_below_ten(prefix: str, check: str) -> None:
    # python-stdnum rejects every ОГРНИП whose prefix mod 13 is 10, 11 or 12 (see
    # test_python_stdnum_rejects_ogrnip_with_remainder_ten_to_twelve); we follow the reference
    # (last digit of the remainder), so the cross-check only covers remainders 0–9.
    value = prefix + check
    if int(prefix) % 13 < 10:
        assert _accepts(validate_ogrnip, value) == stdnum_ogrn.is_valid(value)
    else:
        assert not stdnum_ogrn.is_valid(value)
        assert _accepts(validate_ogrnip, value) == (check == str(int(prefix) % 13 % 10))


@given(
    bik_tail=_digit_strings(7),
    account_prefix=_digit_strings(8),
    account_tail=_digit_strings(11),
    position=st.integers(min_value=0, max_value=19),
    delta=st.integers(min_value=1, max_value=9),
)
def test_property_settlement_account_key_detects_any_single_digit_change(
    bik_tail: str, account_prefix: str, account_tail: str, position: int, delta: int
) -> None:
    bik = "04" + bik_tail
    # Find the check key (9th digit) that makes the account valid: exactly one of 0–9 works.
    candidates = [account_prefix + k + account_tail for k in DIGITS]
    valid = [a for a in candidates if _accepts(lambda acc: validate_settlement_account(acc, bik), a)]
    assume(valid)  # only when the account is all zeros (refused) is there none
    assert len(valid) == 1
    account = valid[0]
    broken = account[:position] + str((int(account[position]) + delta) % 10) + account[position + 1 :]
    assume(broken.strip("0") != "")
    assert _error(validate_settlement_account, broken, bik).code == "settlement_account_checksum"
