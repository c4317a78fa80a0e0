"""At most one current certificate per registration, as a database constraint.

Before the constraint, a bulk issue and the auto-issue after the evaluation (or two
overlapping bulk issues) could both issue a certificate for one registration. Old databases
may therefore hold two or more `issued` certificates for one registration. Before adding
the constraint, this migration keeps the newest of them current and marks the older ones
superseded (their PDFs and hashes stay untouched, so anything already printed still
verifies as "superseded by a corrected certificate"); an audit record names each one.

It also records which bulk issue job issued a certificate, so a job's "issued" count is
read from the certificates themselves and stays right when a job is interrupted and re-run.
"""

import django.db.models.deletion
from django.db import migrations, models

ISSUED = "issued"
SUPERSEDED = "superseded"


def supersede_duplicate_current_certificates(apps, schema_editor):
    Certificate = apps.get_model("certification", "Certificate")
    AuditRecord = apps.get_model("cms", "AuditRecord")
    duplicated = (
        Certificate.objects.filter(status=ISSUED)
        .values("registration_id")
        .annotate(n=models.Count("pk"))
        .filter(n__gt=1)
        .values_list("registration_id", flat=True)
    )
    for registration_id in list(duplicated):
        current = list(
            Certificate.objects.filter(registration_id=registration_id, status=ISSUED).order_by(
                "-issued_at", "-pk"
            )
        )
        keep, older = current[0], current[1:]
        for certificate in older:
            certificate.status = SUPERSEDED
            certificate.save(update_fields=["status"])
            AuditRecord.objects.create(
                action="certification.certificate.superseded",
                object_type="certification.certificate",
                object_id=str(certificate.pk),
                object_repr=certificate.code[:200],
                before={"status": ISSUED},
                after={"status": SUPERSEDED, "kept_current": keep.code},
                note="A duplicate current certificate for one registration (issued twice by "
                "racing issues); the newest one stays current.",
            )


class Migration(migrations.Migration):
    dependencies = [
        ("certification", "0003_staff_capabilities"),
        ("cms", "0003_audit_record"),
    ]

    operations = [
        migrations.RunPython(
            supersede_duplicate_current_certificates, migrations.RunPython.noop, elidable=True
        ),
        migrations.AddField(
            model_name="certificate",
            name="issue_job",
            field=models.ForeignKey(
                blank=True,
                help_text="The bulk issue that issued this certificate, if one did.",
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="certificates",
                to="certification.issuejob",
            ),
        ),
        migrations.AddConstraint(
            model_name="certificate",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "issued")),
                fields=("registration",),
                name="one_current_certificate_per_registration",
            ),
        ),
    ]
