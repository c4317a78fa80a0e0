"""One decision per review round, one open attempt, one active credential: as constraints.

- Evidence: one round open (`submitted`) per enrolment and requirement. Before this, a
  candidate could submit a second statement while the first waited, and staff could decide
  both. Old databases may hold such pairs: the newest stays waiting and the older ones are
  returned with a note saying a later submission replaced them (audited), so staff decide
  once, on the newest.
- Assessment attempts: one open (`in_progress` or `awaiting_grading`) per enrolment and
  requirement. `start_attempt` already returned the open attempt under a lock and the
  attempt-number constraint stopped two concurrent first attempts, so no data can break it.
- Credentials: one `active` per enrolment. Two renewals at once could each issue one; the
  older duplicates are marked superseded (audited), the newest stays active.
"""

from django.db import migrations, models
from django.db.models import Count



def _duplicates(model, status, group_fields):
    return (
        model.objects.filter(status=status)
        .values(*group_fields)
        .annotate(n=Count("pk"))
        .filter(n__gt=1)
    )


def resolve_duplicates(apps, schema_editor):
    EvidenceSubmission = apps.get_model("trainers", "EvidenceSubmission")
    Credential = apps.get_model("trainers", "Credential")
    AuditRecord = apps.get_model("cms", "AuditRecord")

    for group in _duplicates(EvidenceSubmission, "submitted", ["enrolment_id", "requirement_id"]):
        waiting = EvidenceSubmission.objects.filter(
            status="submitted",
            enrolment_id=group["enrolment_id"],
            requirement_id=group["requirement_id"],
        ).order_by("-submitted_at", "-pk")
        for evidence in list(waiting)[1:]:
            evidence.status = "returned"
            evidence.feedback = "Replaced by a later submission of yours, which staff will review."
            evidence.save(update_fields=["status", "feedback"])
            AuditRecord.objects.create(
                action="trainers.evidence.reviewed",
                object_type="trainers.evidencesubmission",
                object_id=str(evidence.pk),
                before={"status": "submitted"},
                after={"status": "returned"},
                note="One review round open at a time: a later submission replaced this one.",
            )

    for group in _duplicates(Credential, "active", ["enrolment_id"]):
        active = Credential.objects.filter(
            status="active", enrolment_id=group["enrolment_id"]
        ).order_by("-issued_at", "-pk")
        for credential in list(active)[1:]:
            credential.status = "superseded"
            credential.save(update_fields=["status"])
            AuditRecord.objects.create(
                action="trainers.credential.superseded",
                object_type="trainers.credential",
                object_id=str(credential.pk),
                object_repr=credential.number,
                before={"status": "active"},
                after={"status": "superseded"},
                note="One active credential per enrolment: a newer one stays active.",
            )


class Migration(migrations.Migration):
    dependencies = [
        ("trainers", "0004_staff_capabilities"),
        ("cms", "0003_audit_record"),
    ]

    operations = [
        migrations.RunPython(resolve_duplicates, migrations.RunPython.noop, elidable=True),
        migrations.AddConstraint(
            model_name="assessmentattempt",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["in_progress", "awaiting_grading"])),
                fields=("enrolment", "requirement"),
                name="one_open_attempt",
            ),
        ),
        migrations.AddConstraint(
            model_name="credential",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "active")),
                fields=("enrolment",),
                name="one_active_credential_per_enrolment",
            ),
        ),
        migrations.AddConstraint(
            model_name="evidencesubmission",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "submitted")),
                fields=("enrolment", "requirement"),
                name="one_open_evidence_round",
            ),
        ),
    ]
