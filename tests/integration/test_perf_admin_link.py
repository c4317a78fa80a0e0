"""The header's "Admin" link: a signed-in member's pages ask the database nothing about
permissions once the answer is known, and a role given or taken away shows on the next page
(counted, never timed). People who may open the admin also get Wagtail's user bar, which
asks its own permission questions; that is theirs to pay, not every member's."""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from cms import roles
from courses.factories import UserFactory, make_event

pytestmark = pytest.mark.django_db

ADMIN_LINK = f'href="{reverse("wagtailadmin_home")}"'


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def _permission_queries(client, path):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    sql = [query["sql"] for query in captured.captured_queries]
    return response, [s for s in sql if "auth_permission" in s or "auth_group" in s]


@pytest.mark.parametrize("page", ["home", "event"])
def test_a_signed_in_members_pages_make_no_permission_queries(client, page):
    event = make_event(title="Supervision Intensive")
    path = "/" if page == "home" else event.url
    client.force_login(UserFactory())
    first, asked = _permission_queries(client, path)
    assert asked, "the first page works the answer out once"

    again, asked = _permission_queries(client, path)

    assert asked == []
    assert "My registrations" in again.content.decode()
    assert ADMIN_LINK not in again.content.decode()


def test_a_role_given_or_taken_away_shows_in_the_header_on_the_next_page(client):
    make_event()
    member = UserFactory()
    client.force_login(member)
    assert ADMIN_LINK not in client.get("/").content.decode()

    editors = Group.objects.get(name=roles.EDITOR)
    member.groups.add(editors)
    assert ADMIN_LINK in client.get("/").content.decode()

    member.groups.remove(editors)
    assert ADMIN_LINK not in client.get("/").content.decode()


def test_a_role_losing_admin_access_loses_the_link(client):
    make_event()
    member = UserFactory()
    editors = Group.objects.get(name=roles.EDITOR)
    member.groups.add(editors)
    client.force_login(member)
    assert ADMIN_LINK in client.get("/").content.decode()

    editors.permissions.remove(editors.permissions.get(codename="access_admin"))

    assert ADMIN_LINK not in client.get("/").content.decode()


def test_staff_get_the_link_from_their_own_row(client):
    make_event()
    client.force_login(UserFactory(is_staff=True))
    assert ADMIN_LINK in client.get("/").content.decode()
