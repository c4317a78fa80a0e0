"""`manage.py trainers_s3_setup`: prepare the private bucket for direct video uploads."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from certification.trainers import bucket, s3


class Command(BaseCommand):
    help = (
        "Create the private bucket if it is missing, then set its CORS (browsers upload parts "
        "and read ETag) and a lifecycle rule that aborts multipart uploads left unfinished."
    )

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=7, help="Abort uploads older than this.")

    def handle(self, *args, days, **options):
        if not s3.is_active():
            raise CommandError("Private files are not in S3 (set AWS_STORAGE_BUCKET_NAME).")
        name = bucket.bucket_name()
        try:
            bucket.client().head_bucket(Bucket=name)
            existed = True
        except bucket.client_errors():
            existed = False
        # configure_bucket creates the bucket when it is missing.
        s3.configure_bucket(allowed_origins=[settings.SITE_URL], stale_upload_days=days)
        if not existed:
            self.stdout.write(self.style.SUCCESS(f"Bucket {name} created."))
        self.stdout.write(self.style.SUCCESS("Bucket CORS and lifecycle rule are set."))
