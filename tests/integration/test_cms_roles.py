"""The Editor role may edit and publish pages and site settings; other roles may not."""

import pytest
from django.contrib.auth.models import Group

from cms.factories import ArticlePageFactory, NewsIndexPageFactory, home_page
from cms.models import User

pytestmark = pytest.mark.django_db


def member_of(role):
    user = User.objects.create_user(email=f"{role.lower().replace(' ', '-')}@example.org")
    user.groups.add(Group.objects.get(name=role))
    return User.objects.get(pk=user.pk)


def test_editor_can_open_the_admin_and_publish_pages_and_site_settings():
    article = ArticlePageFactory(parent=NewsIndexPageFactory(parent=home_page()))
    editor = member_of("Editor")

    permissions = article.permissions_for_user(editor)

    assert editor.has_perm("wagtailadmin.access_admin")
    assert editor.has_perm("cms.change_sitesettings")
    assert permissions.can_edit() and permissions.can_publish()
    assert article.get_parent().permissions_for_user(editor).can_add_subpage()


@pytest.mark.parametrize("role", ["Finance", "Certification reviewer"])
def test_other_roles_cannot_edit_pages_or_site_settings(role):
    article = ArticlePageFactory(parent=NewsIndexPageFactory(parent=home_page()))
    user = member_of(role)

    permissions = article.permissions_for_user(user)

    assert not user.has_perm("cms.change_sitesettings")
    assert not permissions.can_edit()
    assert not permissions.can_publish()
