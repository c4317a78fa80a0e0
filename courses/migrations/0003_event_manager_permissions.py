"""The Event manager role: into the admin, presenters and programmes, images and documents.

Page permissions on the events section are given when the events index page is created
(EventIndexPage.save), because the page does not exist when migrations run.
"""

from django.db import migrations

EVENT_MANAGER = "Event manager"
MODEL_PERMISSIONS = {
    ("wagtailadmin", "admin"): ["access_admin"],
    ("courses", "presenter"): ["add_presenter", "change_presenter", "delete_presenter", "view_presenter"],
    ("courses", "programme"): ["add_programme", "change_programme", "view_programme"],
}
COLLECTION_PERMISSIONS = {
    ("wagtailimages", "image"): ["add_image", "change_image", "choose_image"],
    ("wagtaildocs", "document"): ["add_document", "change_document", "choose_document"],
}


def _permission(apps, app_label, model, codename):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename=codename,
        defaults={"name": codename.replace("_", " ").capitalize()},
    )
    return permission


def grant(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Collection = apps.get_model("wagtailcore", "Collection")
    GroupCollectionPermission = apps.get_model("wagtailcore", "GroupCollectionPermission")
    manager, _ = Group.objects.get_or_create(name=EVENT_MANAGER)
    for (app_label, model), codenames in MODEL_PERMISSIONS.items():
        manager.permissions.add(*[_permission(apps, app_label, model, c) for c in codenames])
    root_collection = Collection.objects.filter(depth=1).first()
    if root_collection is not None:
        for (app_label, model), codenames in COLLECTION_PERMISSIONS.items():
            for codename in codenames:
                GroupCollectionPermission.objects.get_or_create(
                    group=manager,
                    collection=root_collection,
                    permission=_permission(apps, app_label, model, codename),
                )


def revoke(apps, schema_editor):
    manager = apps.get_model("auth", "Group").objects.filter(name=EVENT_MANAGER).first()
    if manager is None:
        return
    apps.get_model("wagtailcore", "GroupCollectionPermission").objects.filter(group=manager).delete()
    codenames = [c for codes in MODEL_PERMISSIONS.values() for c in codes]
    manager.permissions.remove(*manager.permissions.filter(codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("courses", "0002_session_attendance"),
        ("cms", "0002_staff_roles"),
        ("wagtailcore", "0097_baselogentry_uuid_action_timestamp_indexes"),
        ("wagtailadmin", "0006_formstate"),
        ("wagtailimages", "0027_image_description"),
        ("wagtaildocs", "0014_alter_document_file_size"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
