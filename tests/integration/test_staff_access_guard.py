"""The one staff guard: a permission, and a second factor that this session completed."""

import pytest
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group, Permission
from django.core.exceptions import PermissionDenied

from cms.access import Perm, SecondFactorRequired, can, holds, require, users_with
from cms.roles import EVENT_MANAGER, FINANCE
from tests.accounts_support import acting_with_second_factor, log_in_with_second_factor, make_member

pytestmark = pytest.mark.django_db


def in_group(email, group_name):
    user = make_member(email, "Role Holder")
    user.groups.add(Group.objects.get(name=group_name))
    return type(user).objects.get(pk=user.pk)


def test_a_permission_without_a_second_factor_is_not_a_capability():
    manager = in_group("manager@example.org", EVENT_MANAGER)

    assert holds(manager, Perm.MANAGE_REGISTRATIONS)
    assert not can(manager, Perm.MANAGE_REGISTRATIONS)
    with pytest.raises(SecondFactorRequired):
        require(manager, Perm.MANAGE_REGISTRATIONS)
    assert can(acting_with_second_factor(manager), Perm.MANAGE_REGISTRATIONS)


def test_a_second_factor_without_the_permission_is_refused_plainly():
    finance = acting_with_second_factor(in_group("finance@example.org", FINANCE))

    with pytest.raises(PermissionDenied) as refused:
        require(finance, Perm.MANAGE_REGISTRATIONS)
    assert not isinstance(refused.value, SecondFactorRequired)


def test_the_role_is_the_permissions_not_the_group_name():
    group = Group.objects.get(name=FINANCE)
    group.name = "Accounts team"
    group.save()
    member = acting_with_second_factor(in_group("accounts@example.org", "Accounts team"))
    custom = Group.objects.create(name="Bookkeepers")
    custom.permissions.add(Permission.objects.get(codename="view_finance"))
    bookkeeper = acting_with_second_factor(in_group("books@example.org", "Bookkeepers"))

    assert can(member, Perm.VIEW_FINANCE)
    assert can(bookkeeper, Perm.VIEW_FINANCE)
    assert set(users_with(Perm.VIEW_FINANCE, superusers=False)) == {member, bookkeeper}


def test_removing_the_authenticator_ends_the_second_factor_of_the_session(client):
    finance = in_group("finance@example.org", FINANCE)
    log_in_with_second_factor(client, finance)
    assert client.get("/admin/finance/orders/").status_code == 200

    Authenticator.objects.filter(user=finance).delete()
    response = client.get("/admin/finance/orders/")

    assert response.status_code == 302
    assert response.url == "/accounts/2fa/totp/activate/?next=/admin/finance/orders/"


def test_inactive_accounts_have_no_capability():
    manager = acting_with_second_factor(in_group("manager@example.org", EVENT_MANAGER))
    manager.is_active = False

    assert not can(manager, Perm.MANAGE_REGISTRATIONS)
