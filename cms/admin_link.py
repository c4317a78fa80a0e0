"""Whether the site header offers a signed-in person the "Admin" link, without asking the
database on every page.

Staff flags are on the user row the request already loaded. For everyone else the answer
comes from their roles (groups granting `wagtailadmin.access_admin`), which would cost two
permission queries on every page a member opens. The answer is kept in the cache per user,
under a permissions generation that any change to a person's groups or permissions, or to a
group's permissions, moves on: the user's answer and the generation are read in one cache
round trip, and a role given or taken away shows in the header on the next page.

The link is only a signpost: the admin itself checks the permission and the second factor
on every request.
"""

import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from cms.access import Perm, holds

GENERATION_KEY = "cms:permissions-generation"
# A day at most: the generation moves on every change; the limit only lets old answers go.
ANSWER_SECONDS = 24 * 60 * 60


def _answer_key(user):
    return f"cms:admin-link:{user.pk}"


def offers_admin_link(user):
    """True when the header should link `user` to the admin (staff, or a role with access)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    if user.is_staff or user.is_superuser:
        return True
    key = _answer_key(user)
    found = cache.get_many([GENERATION_KEY, key])
    generation = found.get(GENERATION_KEY)
    if generation is None:
        cache.add(GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        generation = cache.get(GENERATION_KEY)
    answer = found.get(key)
    if generation is not None and answer is not None and answer[0] == generation:
        return answer[1]
    allowed = holds(user, Perm.ACCESS_ADMIN)
    if generation is not None:
        cache.set(key, (generation, allowed), timeout=ANSWER_SECONDS)
    return allowed


def permissions_changed(**kwargs):
    """Forget every cached answer: someone's roles or a role's permissions changed."""
    cache.set(GENERATION_KEY, uuid.uuid4().hex, timeout=None)


User = get_user_model()
for _through in (User.groups.through, User.user_permissions.through, Group.permissions.through):
    m2m_changed.connect(permissions_changed, sender=_through, dispatch_uid=f"admin-link-{_through}")


@receiver(post_delete, sender=Group, dispatch_uid="admin-link-group-deleted")
@receiver(post_delete, sender=Permission, dispatch_uid="admin-link-permission-deleted")
@receiver(post_save, sender=Permission, dispatch_uid="admin-link-permission-saved")
def _permission_rows_changed(**kwargs):
    permissions_changed()
