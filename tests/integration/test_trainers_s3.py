"""S3 mode against moto's standalone server: real presigned multipart, bytes never via Django."""

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from urllib.error import HTTPError

import boto3
import pytest

from certification.trainers.models import VideoSubmission
from tests.trainers_support.builders import (
    build_track,
    make_video,
    person,
    start_submission,
)

pytestmark = pytest.mark.django_db
PART = 16 * 1024


@pytest.fixture(scope="module")
def moto_endpoint():
    """moto_server on a free local port; parts may be small (S3_UPLOAD_PART_MIN_SIZE)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**os.environ, "S3_UPLOAD_PART_MIN_SIZE": str(PART)}
    server = subprocess.Popen(
        [
            os.path.join(os.path.dirname(sys.executable), "moto_server"),
            "-H",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            urllib.request.urlopen(endpoint, timeout=1)  # noqa: S310
            break
        except HTTPError:
            break
        except OSError:
            time.sleep(0.1)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def s3_settings(settings, moto_endpoint):
    bucket = "trainer-videos"
    settings.AWS_ACCESS_KEY_ID = "testing"
    settings.AWS_SECRET_ACCESS_KEY = "testing"
    settings.AWS_S3_ENDPOINT_URL = moto_endpoint
    settings.AWS_S3_REGION_NAME = "us-east-1"
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": moto_endpoint,
                "region_name": "us-east-1",
                "access_key": "testing",
                "secret_key": "testing",
                "location": "private",
                "querystring_auth": True,
                "querystring_expire": 300,
                "default_acl": "private",
                "file_overwrite": False,
                "addressing_style": "path",
                "signature_version": "s3v4",
            },
        },
    }
    client = boto3.client(
        "s3",
        endpoint_url=moto_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with contextlib.suppress(client.exceptions.BucketAlreadyOwnedByYou):
        client.create_bucket(Bucket=bucket)
    from django.core.files.storage import storages

    storages._storages.pop("private", None)
    yield client, bucket
    storages._storages.pop("private", None)


def sign(client, submission, **request):
    response = client.post(
        "/certification/uploads/s3/sign/",
        data=json.dumps({"submission": str(submission.public_id), **request}),
        content_type="application/json",
    )
    return response


def http(method, url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        return response.status, dict(response.headers), response.read()


def upload_like_uppy(client, submission, data, *, declared_size=None):
    """What Uppy's aws-s3 plugin does, with each URL presigned by the project."""
    created = sign(
        client,
        submission,
        method="POST",
        key="uppy-random-name.mp4",
        size=declared_size or len(data),
        filename="demo.mp4",
    )
    assert created.status_code == 200, created.content
    key = created.json()["key"]
    assert key == f"private/videos/{submission.public_id}/source"
    _, _, body = http("POST", created.json()["url"], b"", {"Content-Type": "video/mp4"})
    upload_id = re.search(rb"<UploadId>([^<]+)</UploadId>", body).group(1).decode()
    parts = []
    for number, offset in enumerate(range(0, len(data), PART), start=1):
        url = sign(client, submission, method="PUT", key=key, uploadId=upload_id, partNumber=number)
        _, headers, _ = http(
            "PUT",
            url.json()["url"],
            data[offset : offset + PART],
            {"Content-Type": "application/octet-stream"},
        )
        parts.append((number, headers["ETag"]))
    listed = sign(client, submission, method="GET", key=key, uploadId=upload_id)
    _, _, listing = http("GET", listed.json()["url"])
    assert listing.count(b"<Part>") == len(parts)
    xml = "".join(
        f"<Part><PartNumber>{n}</PartNumber><ETag>{etag}</ETag></Part>" for n, etag in parts
    )
    done = sign(client, submission, method="POST", key=key, uploadId=upload_id)
    http(
        "POST",
        done.json()["url"],
        f"<CompleteMultipartUpload>{xml}</CompleteMultipartUpload>".encode(),
        {"Content-Type": "application/xml"},
    )
    return client.post(
        "/certification/uploads/s3/finish/",
        data=json.dumps({"submission": str(submission.public_id)}),
        content_type="application/json",
    )


def test_presigned_multipart_upload_is_processed_and_played_from_s3(
    client, s3_settings, tmp_path, django_capture_on_commit_callbacks
):
    s3, bucket = s3_settings
    source = make_video(tmp_path / "demo.mp4", seconds=3, size="320x240").read_bytes()
    assert len(source) > 2 * PART
    candidate = person("cand@example.org")
    client.force_login(candidate)
    submission = start_submission(build_track(), candidate)
    page = client.get(f"/certification/videos/{submission.public_id}/upload/").content.decode()
    assert "&quot;mode&quot;: &quot;s3&quot;" in page

    with django_capture_on_commit_callbacks(execute=True):
        finished = upload_like_uppy(client, submission, source)

    assert finished.status_code == 200, finished.content
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.READY
    assert submission.video_codec == "h264" and (submission.width, submission.height) == (320, 240)
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert f"private/videos/{submission.public_id}/source" in keys
    assert any(k.endswith("poster.jpg") for k in keys)

    redirect = client.get(f"/certification/videos/{submission.public_id}/play/")
    assert redirect.status_code == 302 and "X-Amz-Signature" in redirect["Location"]
    status, headers, body = http("GET", redirect["Location"], headers={"Range": "bytes=10-29"})
    assert status == 206 and body == source[10:30]

    client.force_login(person("intruder@example.org"))
    assert client.get(f"/certification/videos/{submission.public_id}/play/").status_code == 404
    assert sign(client, submission, method="POST", key="x", size=10).status_code == 404


def test_size_mismatch_on_completion_is_refused_and_the_object_removed(
    client, s3_settings, tmp_path
):
    s3, bucket = s3_settings
    source = make_video(tmp_path / "demo.mp4").read_bytes()
    candidate = person("cand@example.org")
    client.force_login(candidate)
    submission = start_submission(build_track(), candidate)
    finished = upload_like_uppy(client, submission, source, declared_size=len(source) + 5)
    assert finished.status_code == 409
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.FAILED
    assert "not the" in submission.failure_reason
    assert (
        s3.list_objects_v2(Bucket=bucket, Prefix=f"private/videos/{submission.public_id}/").get(
            "KeyCount"
        )
        == 0
    )


def test_over_limit_and_foreign_keys_are_refused(client, s3_settings):
    candidate = person("cand@example.org")
    client.force_login(candidate)
    submission = start_submission(build_track(max_upload_bytes=1000), candidate)
    too_big = sign(client, submission, method="POST", key="a.mp4", size=1001, filename="a.mp4")
    assert too_big.status_code == 413 and "limit for this track" in too_big.json()["error"]
    ok = sign(client, submission, method="POST", key="a.mp4", size=900, filename="a.mp4")
    assert ok.status_code == 200
    foreign = sign(
        client,
        submission,
        method="PUT",
        key="private/videos/other/source",
        uploadId="x",
        partNumber=1,
    )
    assert foreign.status_code == 403


def test_bucket_setup_command_sets_cors_and_lifecycle(s3_settings):
    import io

    from django.core.management import call_command

    s3, bucket = s3_settings
    call_command("trainers_s3_setup", stdout=io.StringIO())
    cors = s3.get_bucket_cors(Bucket=bucket)["CORSRules"][0]
    assert "ETag" in cors["ExposeHeaders"] and "PUT" in cors["AllowedMethods"]
    rule = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"][0]
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 7
