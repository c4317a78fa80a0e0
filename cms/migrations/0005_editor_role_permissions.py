"""The Editor role edits and publishes the site's pages, images, documents and site settings.

Other roles get their screens from the apps that own them.
"""

from django.db import migrations

EDITOR = "Editor"
PAGE_PERMISSIONS = ["add_page", "change_page", "publish_page", "lock_page", "unlock_page"]
COLLECTION_PERMISSIONS = {
    ("wagtailimages", "image"): ["add_image", "change_image", "choose_image"],
    ("wagtaildocs", "document"): ["add_document", "change_document", "choose_document"],
}

PERMISSION_NAMES = {
    "access_admin": "Can access Wagtail admin",
    "change_sitesettings": "Can change site settings",
    "add_page": "Can add page",
    "change_page": "Can change page",
    "publish_page": "Publish any page",
    "lock_page": "Lock/unlock pages you've locked",
    "unlock_page": "Unlock any page",
    "add_image": "Can add image",
    "change_image": "Can change image",
    "choose_image": "Can choose image",
    "add_document": "Can add document",
    "change_document": "Can change document",
    "choose_document": "Can choose document",
}


def _permission(apps, app_label, model, codename):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    content_type, _ = ContentType.objects.get_or_create(app_label=app_label, model=model)
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename=codename,
        # The same name Django or Wagtail gives it when they create it after migrating.
        defaults={"name": PERMISSION_NAMES.get(codename, codename.replace("_", " "))},
    )
    return permission


def grant_editor_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Page = apps.get_model("wagtailcore", "Page")
    Collection = apps.get_model("wagtailcore", "Collection")
    GroupPagePermission = apps.get_model("wagtailcore", "GroupPagePermission")
    GroupCollectionPermission = apps.get_model("wagtailcore", "GroupCollectionPermission")

    editor, _ = Group.objects.get_or_create(name=EDITOR)
    editor.permissions.add(
        _permission(apps, "wagtailadmin", "admin", "access_admin"),
        _permission(apps, "cms", "sitesettings", "change_sitesettings"),
    )
    root_page = Page.objects.filter(depth=1).first()
    if root_page is not None:
        for codename in PAGE_PERMISSIONS:
            GroupPagePermission.objects.get_or_create(
                group=editor,
                page=root_page,
                permission=_permission(apps, "wagtailcore", "page", codename),
            )
    root_collection = Collection.objects.filter(depth=1).first()
    if root_collection is not None:
        for (app_label, model), codenames in COLLECTION_PERMISSIONS.items():
            for codename in codenames:
                GroupCollectionPermission.objects.get_or_create(
                    group=editor,
                    collection=root_collection,
                    permission=_permission(apps, app_label, model, codename),
                )


def revoke_editor_permissions(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    editor = Group.objects.filter(name=EDITOR).first()
    if editor is None:
        return
    apps.get_model("wagtailcore", "GroupPagePermission").objects.filter(group=editor).delete()
    apps.get_model("wagtailcore", "GroupCollectionPermission").objects.filter(group=editor).delete()
    editor.permissions.remove(
        *editor.permissions.filter(codename__in=["access_admin", "change_sitesettings"])
    )


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0004_cms_pages_and_site_settings"),
        ("wagtailcore", "0097_baselogentry_uuid_action_timestamp_indexes"),
        ("wagtailadmin", "0006_formstate"),
        ("wagtailimages", "0027_image_description"),
        ("wagtaildocs", "0014_alter_document_file_size"),
    ]

    operations = [migrations.RunPython(grant_editor_permissions, revoke_editor_permissions)]
