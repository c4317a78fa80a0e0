"""The staff role groups the site starts with, and how migrations give them permissions.

Roles are groups of permissions (`cms.access.Perm`). Code never asks for a group by name;
the names live here only so migrations, the demo and tests can set the groups up. Renaming a
group in Settings → Groups changes nothing about what its members may do.
"""

EVENT_MANAGER = "Event manager"
CE_ADMINISTRATOR = "CE administrator"
CERTIFICATION_REVIEWER = "Certification reviewer"
FINANCE = "Finance"
EDITOR = "Editor"

STAFF_ROLES = [EVENT_MANAGER, CE_ADMINISTRATOR, CERTIFICATION_REVIEWER, FINANCE, EDITOR]


def grant_in_migration(apps, grants):
    """Give role groups permissions from a data migration.

    `grants` maps a group name to (app label, model, codename) triples.

    The permission rows are created here because Django only creates them after all
    migrations have run (post_migrate), and a model's content type may not exist yet either.
    """
    ContentType = apps.get_model("contenttypes", "ContentType")
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for group_name, permissions in grants.items():
        group, _ = Group.objects.get_or_create(name=group_name)
        for app_label, model, codename in permissions:
            content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
            described = dict(apps.get_model(app_label, model)._meta.permissions)
            granted, _ = Permission.objects.get_or_create(
                content_type=content_type, codename=codename, defaults={"name": described[codename]}
            )
            group.permissions.add(granted)
