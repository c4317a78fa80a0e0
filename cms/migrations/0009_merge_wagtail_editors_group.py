"""One editors group: Wagtail's starter "Editors" group is folded into the project's "Editor"
role (its members move over; the role already holds the editing permissions), so staff do not
meet two look-alike groups. Wagtail's "Moderators" group stays: its default workflow task
names it."""

from django.db import migrations

WAGTAIL_EDITORS = "Editors"
EDITOR = "Editor"


def merge_editors(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    starter = Group.objects.filter(name=WAGTAIL_EDITORS).first()
    if starter is None:
        return
    editor, _ = Group.objects.get_or_create(name=EDITOR)
    for user in starter.user_set.all():
        user.groups.add(editor)
    starter.delete()


class Migration(migrations.Migration):
    dependencies = [
        ("cms", "0008_invoice_payment_instructions"),
        ("cms", "0005_editor_role_permissions"),
    ]

    # Not reversed: the starter group held nothing the Editor role lacks.
    operations = [migrations.RunPython(merge_editors, migrations.RunPython.noop)]
