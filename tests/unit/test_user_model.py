import pytest
from django.db import IntegrityError

from cms.models import User

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("name", ["Zoë Ñúñez", "王小明", "محمد علي", "Мария", "<b>Bold</b> & Co"])
def test_legal_name_is_stored_exactly_as_typed(name):
    user = User.objects.create_user(email="person@example.org", password="x", legal_name=name)
    user.refresh_from_db()
    assert user.legal_name == name


def test_email_is_unique_regardless_of_case():
    User.objects.create_user(email="Ann@Example.org", password="x", legal_name="Ann")
    with pytest.raises(IntegrityError):
        User.objects.create_user(email="ann@example.org", password="x", legal_name="Ann Two")


def test_login_lookup_ignores_case():
    User.objects.create_user(email="Ann@Example.org", password="x", legal_name="Ann")
    assert User.objects.get_by_natural_key("ANN@example.ORG").legal_name == "Ann"
