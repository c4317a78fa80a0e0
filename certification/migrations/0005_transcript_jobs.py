"""CE transcripts built by the worker (more than 50 certificates), private to their owner."""

import uuid

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("certification", "0004_one_current_certificate"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="TranscriptJob",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("public_id", models.UUIDField(default=uuid.uuid4, editable=False, unique=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Waiting to start"),
                            ("building", "Being built"),
                            ("ready", "Ready"),
                            ("failed", "Could not be built"),
                        ],
                        default="queued",
                        max_length=12,
                    ),
                ),
                (
                    "certificates",
                    models.PositiveIntegerField(
                        default=0,
                        help_text="How many certificates the transcript lists.",
                        verbose_name="certificates",
                    ),
                ),
                ("pdf_path", models.CharField(blank=True, max_length=255)),
                ("pdf_sha256", models.CharField(blank=True, max_length=64)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "owner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="ce_transcripts",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "requested_by",
                    models.ForeignKey(
                        blank=True,
                        help_text="CE staff who asked for it; they get the link.",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "CE transcript",
                "verbose_name_plural": "CE transcripts",
                "ordering": ["-created_at"],
                "indexes": [
                    models.Index(fields=["owner", "status"], name="certificati_owner_i_3e09ac_idx")
                ],
            },
        ),
    ]
