"""Certification reviewers open their review queue in the admin, so the role needs admin access
(and with it, two-factor authentication: cms.middleware asks anyone with admin access)."""

from django.db import migrations

REVIEWER = "Certification reviewer"


def grant(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label="wagtailadmin", model="admin")
    access_admin, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="access_admin",
        defaults={"name": "Can access Wagtail admin"},
    )
    reviewer, _ = Group.objects.get_or_create(name=REVIEWER)
    reviewer.permissions.add(access_admin)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    reviewer = Group.objects.filter(name=REVIEWER).first()
    if reviewer is not None:
        reviewer.permissions.remove(*reviewer.permissions.filter(codename="access_admin"))


class Migration(migrations.Migration):
    dependencies = [
        ("trainers", "0002_requirement_programme_fk"),
        ("cms", "0002_staff_roles"),
        ("wagtailadmin", "0001_create_admin_access_permissions"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
