"""Private storage: certificates, invoices, materials and videos, outside the web root.

Served only through permission-checked views (or presigned S3 links). Every app's private
FileField uses `private_storage`; code that writes or reads by name uses `private_files()`.
"""

import logging
from functools import lru_cache
from urllib.parse import urlsplit

import boto3
from botocore.config import Config
from django.conf import settings
from django.core.files.storage import storages
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.functional import LazyObject, empty


class PrivateStorage(LazyObject):
    """Resolves `storages["private"]` lazily so tests that swap STORAGES are honoured."""

    def _setup(self):
        self._wrapped = storages["private"]


private_storage_instance = PrivateStorage()


def private_storage():
    """The FileField storage callable (a function so migrations reference it by path)."""
    return private_storage_instance


def private_files():
    """The private storage itself, for code that saves, opens or deletes by name."""
    return storages["private"]


@receiver(setting_changed)
def _reset_private_storage(*, setting, **kwargs):
    if setting == "STORAGES":
        private_storage_instance._wrapped = empty


def private_s3_client():
    """The boto3 client for the private bucket: SigV4, path-style addressing.

    Every presigned URL the browser receives (multipart upload steps, playback, posters) is
    made by this client, so they all point at one origin: the one `private_bucket_origins`
    puts in the Content-Security-Policy. None when private files are not in S3.
    """
    storage = storages["private"]
    if type(storage).__name__ != "S3Storage":
        return None
    return _s3_client(
        getattr(storage, "endpoint_url", None) or settings.AWS_S3_ENDPOINT_URL or None,
        getattr(storage, "region_name", None) or settings.AWS_S3_REGION_NAME or None,
        getattr(storage, "access_key", None) or settings.AWS_ACCESS_KEY_ID or None,
        getattr(storage, "secret_key", None) or settings.AWS_SECRET_ACCESS_KEY or None,
    )


@lru_cache(maxsize=8)
def _s3_client(endpoint_url, region_name, access_key, secret_key):
    return boto3.client(
        "s3",
        endpoint_url=endpoint_url,
        region_name=region_name,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


def private_bucket_origins():
    """The origins a browser must reach for private files in S3; () without S3.

    The bucket's API endpoint (uploads, presigned playback) and, when the storage has a
    custom domain (a CDN in front of the bucket), that domain too. Nothing else.
    """
    client = private_s3_client()
    if client is None:
        return ()
    origins = [_origin(client.meta.endpoint_url)]
    storage = storages["private"]
    custom_domain = getattr(storage, "custom_domain", None)
    if custom_domain:
        protocol = getattr(storage, "url_protocol", None) or "https:"
        origins.append(_origin(f"{protocol}//{custom_domain}"))
    return tuple(dict.fromkeys(origins))


def _origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def discard_private_file(name, what="file"):
    """Delete a private file that no row records any more (a rendered PDF whose issue lost a
    race or failed). A failure is logged, not raised: an orphan file is untidy, not harmful."""
    if not name:
        return
    try:
        storages["private"].delete(name)
    except OSError:
        logging.getLogger(__name__).warning("Could not delete the unused %s %s", what, name)
