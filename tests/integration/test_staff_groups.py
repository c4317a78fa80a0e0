"""Staff meet one group per role: Wagtail's starter "Editors" group is folded into "Editor"."""

import pytest
from django.contrib.auth.models import Group

from cms.roles import EDITOR

pytestmark = pytest.mark.django_db


def test_one_editors_group_after_migrating():
    names = set(Group.objects.values_list("name", flat=True))
    assert EDITOR in names
    assert "Editors" not in names
    # The role keeps what editors need: publishing pages from the root.
    editor = Group.objects.get(name=EDITOR)
    assert editor.page_permissions.filter(permission__codename="publish_page").exists()
