import pytest

from cms.models import User

pytestmark = pytest.mark.django_db


def test_email_is_stored_in_lower_case_so_allauth_finds_it():
    user = User.objects.create_user(email="  Mixed.Case@Example.ORG ", password="x", legal_name="A")

    user.refresh_from_db()
    assert user.email == "mixed.case@example.org"


def test_staff_roles_exist_as_groups():
    from django.contrib.auth.models import Group

    from cms.roles import STAFF_ROLES

    assert set(STAFF_ROLES) == {
        "Event manager",
        "CE administrator",
        "Certification reviewer",
        "Finance",
        "Editor",
    }
    assert set(Group.objects.filter(name__in=STAFF_ROLES).values_list("name", flat=True)) == set(
        STAFF_ROLES
    )
