import pytest

from cms.forms import CloseAccountForm, ProfileForm
from cms.templatetags.account_forms import accessible_widget
from tests.accounts_support import PASSWORD, make_member

pytestmark = pytest.mark.django_db


def test_an_invalid_field_points_to_its_help_text_and_its_error():
    form = ProfileForm(data={"legal_name": ""})
    assert not form.is_valid()

    html = accessible_widget(form["legal_name"])

    assert 'aria-describedby="id_legal_name_helptext id_legal_name_errors"' in html
    assert 'aria-invalid="true"' in html


def test_a_valid_field_without_help_text_has_no_description():
    form = CloseAccountForm(data={"password": PASSWORD, "confirm": "on"}, user=make_member())
    assert form.is_valid()

    html = accessible_widget(form["confirm"])

    assert "aria-describedby" not in html
    assert "aria-invalid" not in html


def test_profile_form_keeps_names_exactly_but_trims_surrounding_spaces():
    form = ProfileForm(data={"legal_name": "  محمد علي ", "preferred_name": " Mo "})

    assert form.is_valid()
    assert form.cleaned_data["legal_name"] == "محمد علي"
    assert form.cleaned_data["preferred_name"] == "Mo"


def test_close_account_form_checks_the_password_and_the_tick():
    member = make_member()

    wrong = CloseAccountForm(data={"password": "nope", "confirm": "on"}, user=member)
    unticked = CloseAccountForm(data={"password": PASSWORD}, user=member)
    right = CloseAccountForm(data={"password": PASSWORD, "confirm": "on"}, user=member)

    assert "That password is not correct." in wrong.errors["password"][0]
    assert "Tick the box" in unticked.errors["confirm"][0]
    assert right.is_valid()
