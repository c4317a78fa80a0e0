"""Registrations confirmed before licenses typed at registration were kept on the profile
(certification 0008) keep theirs now: the same rule as `keep_registration_license`, written
against this migration's models. Only registrations with no license chosen for their CE are
touched, so nobody's own choice changes; running it twice adds nothing."""

from django.db import migrations

from courses.license_formats import normalise_license_number

BATCH = 500


def keep_typed_licenses(apps, schema_editor):
    Registration = apps.get_model("courses", "Registration")
    License = apps.get_model("certification", "License")
    RegistrationLicense = apps.get_model("certification", "RegistrationLicense")
    registrations = (
        Registration.objects.filter(status="confirmed", attendee__isnull=False, ce_licenses=None)
        .exclude(license_number="")
        .exclude(license_jurisdiction="")
        .only("pk", "attendee_id", "license_number", "license_jurisdiction", "profession")
        .order_by("pk")
    )
    for registration in registrations.iterator(chunk_size=BATCH):
        number = normalise_license_number(registration.license_number)
        jurisdiction = registration.license_jurisdiction.strip()
        if not (number and jurisdiction):
            continue
        kept = next(
            (
                license_
                for license_ in License.objects.filter(
                    user_id=registration.attendee_id, jurisdiction__iexact=jurisdiction
                )
                if normalise_license_number(license_.number) == number
            ),
            None,
        ) or License.objects.create(
            user_id=registration.attendee_id,
            profession=registration.profession.strip()[:120],
            jurisdiction=jurisdiction,
            number=number,
        )
        RegistrationLicense.objects.get_or_create(registration=registration, license=kept)


class Migration(migrations.Migration):
    dependencies = [
        ("certification", "0008_credit_policy_revocation_badges"),
        ("courses", "0008_event_image"),
    ]

    operations = [migrations.RunPython(keep_typed_licenses, migrations.RunPython.noop)]
