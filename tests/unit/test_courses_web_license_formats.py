"""License numbers are checked against the issuing jurisdiction's patterns (a data table)."""

import pytest

from courses.license_formats import (
    jurisdiction_choices,
    license_number_error,
    normalise_license_number,
)


@pytest.mark.parametrize("number", ["SW1234", "PY7001", "MH12345", "MT999", "123456"])
def test_florida_numbers_of_each_profession_are_accepted(number):
    assert license_number_error("FL", number) is None


@pytest.mark.parametrize("number", ["XX1234", "SW12", "1234AB", "SW 1234", ""])
def test_numbers_that_cannot_be_floridian_get_a_message_with_examples(number):
    message = license_number_error("FL", number)
    assert "doesn't look like a Florida license number" in message
    assert "SW1234" in message


def test_other_jurisdictions_accept_plausible_identifiers_only():
    assert license_number_error("OTHER_US", "LPC-004512") is None
    assert "only letters, digits" in license_number_error("OTHER_US", "<script>")


def test_unknown_jurisdiction_asks_to_choose_one():
    assert license_number_error("ZZ", "1234") == "Choose the jurisdiction that issued your license."


def test_numbers_are_normalised_as_boards_print_them():
    assert normalise_license_number(" mh 12345 ") == "MH12345"


def test_deployments_can_replace_the_table(settings):
    settings.COURSES_LICENSE_FORMATS = {"ON": ("Ontario", [("Psychologist", r"\d{4}")], "1234")}
    assert jurisdiction_choices() == [("ON", "Ontario")]
    assert license_number_error("ON", "1234") is None
    assert "Ontario" in license_number_error("ON", "SW1234")
