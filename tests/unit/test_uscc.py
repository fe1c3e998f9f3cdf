"""Unified social credit codes are validated by python-stdnum, not by our own arithmetic."""

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st
from stdnum.cn import uscc

from marketplace.models.accounts import normalise_uscc

# Real codes published on companies' business licences.
VALID = ["91110000600037341L", "91310000MA1K000019", "12310000MB00000019"]
INVALID = ["91110000600037341M", "9111000060003734", "91110000600037341LX", "ABCDEFGHIJKLMNOPQR", ""]


@pytest.mark.parametrize("code", VALID)
def test_valid_codes_normalise(code):
    assert normalise_uscc(code.lower()) == code


@pytest.mark.parametrize("code", INVALID)
def test_invalid_codes_are_rejected_with_a_coded_error(code):
    with pytest.raises(ValidationError) as exc:
        normalise_uscc(code)
    assert exc.value.code == "invalid_uscc"


@given(
    st.text(alphabet="0123456789", min_size=8, max_size=8),
    st.text(alphabet="0123456789ABCDEFGHJKLMNPQRTUWXY", min_size=9, max_size=9),
)
def test_any_body_with_its_check_character_is_accepted_and_a_wrong_one_is_not(region, rest):
    body = region + rest
    check = uscc.calc_check_digit(body)
    assert normalise_uscc(body + check) == body + check
    wrong = "0" if check != "0" else "1"
    with pytest.raises(ValidationError):
        normalise_uscc(body + wrong)
