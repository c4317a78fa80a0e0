"""The private S3 bucket: its client, presigned URLs, aborting multipart uploads, and setup.

Plumbing only, with no state of its own: `s3` (the Uppy endpoints) and the video services
both use it.
"""

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import storages

URL_SECONDS = 15 * 60


def is_active():
    """S3 mode is on when private files live in an S3 bucket."""
    return type(storages["private"]).__name__ == "S3Storage"


def client():
    storage = storages["private"]
    return boto3.client(
        "s3",
        endpoint_url=getattr(storage, "endpoint_url", None) or settings.AWS_S3_ENDPOINT_URL,
        region_name=getattr(storage, "region_name", None) or settings.AWS_S3_REGION_NAME,
        aws_access_key_id=settings.AWS_ACCESS_KEY_ID,
        aws_secret_access_key=settings.AWS_SECRET_ACCESS_KEY,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def bucket_name():
    return storages["private"].bucket_name


def key_for(name):
    location = (storages["private"].location or "").strip("/")
    return f"{location}/{name}" if location else name


def presign(operation, **params):
    return client().generate_presigned_url(
        operation, Params={"Bucket": bucket_name(), **params}, ExpiresIn=URL_SECONDS
    )


def abort(upload):
    if not upload.s3_upload_id:
        return
    try:
        client().abort_multipart_upload(
            Bucket=bucket_name(), Key=upload.s3_key, UploadId=upload.s3_upload_id
        )
    except client_errors():
        pass


def client_errors():
    return (BotoCoreError, ClientError)


def configure_bucket(*, allowed_origins, stale_upload_days=7):
    """CORS that lets browsers upload parts and read ETag; a rule that aborts stale uploads."""
    s3_client = client()
    s3_client.put_bucket_cors(
        Bucket=bucket_name(),
        CORSConfiguration={
            "CORSRules": [
                {
                    "AllowedOrigins": list(allowed_origins),
                    "AllowedMethods": ["GET", "PUT", "POST", "DELETE", "HEAD"],
                    "AllowedHeaders": ["Content-Type", "Range"],
                    "ExposeHeaders": ["ETag", "Content-Range", "Accept-Ranges"],
                    "MaxAgeSeconds": 3000,
                }
            ]
        },
    )
    s3_client.put_bucket_lifecycle_configuration(
        Bucket=bucket_name(),
        LifecycleConfiguration={
            "Rules": [
                {
                    "ID": "abort-stale-video-uploads",
                    "Status": "Enabled",
                    "Filter": {"Prefix": key_for("videos/")},
                    "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": stale_upload_days},
                }
            ]
        },
    )
