"""The private S3 bucket: its client, presigned URLs, aborting multipart uploads, and setup.

Plumbing only, with no state of its own: `s3` (the Uppy endpoints) and the video services
both use it.
"""

from botocore.exceptions import BotoCoreError, ClientError
from django.core.files.storage import storages

from cms.storage import private_s3_client

URL_SECONDS = 15 * 60
# A playback URL must outlive the viewing: the browser requests the signed URL again for
# every seek (Range request), so it stays valid for the video's length plus this margin.
PLAYBACK_MARGIN_SECONDS = 2 * 60 * 60
# S3 refuses SigV4 URLs valid for more than 7 days.
MAX_URL_SECONDS = 7 * 24 * 60 * 60


def is_active():
    """S3 mode is on when private files live in an S3 bucket."""
    return type(storages["private"]).__name__ == "S3Storage"


def client():
    """SigV4, path-style: every presigned URL points at the origin the CSP allows."""
    return private_s3_client()


def bucket_name():
    return storages["private"].bucket_name


def key_for(name):
    location = (storages["private"].location or "").strip("/")
    return f"{location}/{name}" if location else name


def presign(operation, *, expires=URL_SECONDS, **params):
    return client().generate_presigned_url(
        operation,
        Params={"Bucket": bucket_name(), **params},
        ExpiresIn=min(int(expires), MAX_URL_SECONDS),
    )


def playback_seconds(duration_seconds):
    """How long a playback URL lives: the video's duration plus a margin (for pauses)."""
    return int(duration_seconds or 0) + PLAYBACK_MARGIN_SECONDS


def presign_get(name, *, content_type, expires):
    """A presigned GET for a private file (by its storage name), for the browser to play."""
    return presign(
        "get_object", expires=expires, Key=key_for(name), ResponseContentType=content_type
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
    """Create the bucket if missing; CORS that lets browsers upload parts and read ETag; a
    rule that aborts stale multipart uploads."""
    s3_client = client()
    try:
        s3_client.head_bucket(Bucket=bucket_name())
    except ClientError:
        s3_client.create_bucket(Bucket=bucket_name())
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
