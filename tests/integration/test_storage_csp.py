"""The CSP follows the storage settings, and S3 playback links are SigV4 and long enough.

With private files in S3 the browser uploads to, plays from and shows posters from the
bucket, so connect-src, media-src and img-src name the bucket's origin (only that one);
without S3 the policy is the site's own, unchanged.
"""

from urllib.parse import parse_qs, urlsplit

import pytest

from certification.trainers import bucket
from certification.trainers.models import VideoSubmission
from cms.storage import private_bucket_origins
from tests.integration.test_trainers_s3 import moto_endpoint, s3_settings  # noqa: F401
from tests.trainers_support.builders import build_track, person, start_submission

pytestmark = pytest.mark.django_db


def directives(response):
    policy = response["Content-Security-Policy"]
    return {
        part.split()[0]: part.split()[1:] for part in (p.strip() for p in policy.split(";")) if part
    }


def test_without_s3_the_policy_names_no_other_origin(client):
    assert private_bucket_origins() == ()
    policy = directives(client.get("/accounts/login/"))
    assert policy["connect-src"] == ["'self'"]
    assert policy["media-src"] == ["'self'", "blob:"]
    assert policy["img-src"] == ["'self'", "data:", "blob:"]


def test_with_s3_the_bucket_origin_and_nothing_else_is_allowed(client, s3_settings, moto_endpoint):  # noqa: F811
    policy = directives(client.get("/accounts/login/"))
    assert policy["connect-src"] == ["'self'", moto_endpoint]
    assert policy["media-src"] == ["'self'", "blob:", moto_endpoint]
    assert policy["img-src"] == ["'self'", "data:", "blob:", moto_endpoint]
    for name in ("script-src", "default-src", "style-src", "font-src", "form-action"):
        assert moto_endpoint not in policy[name]


def test_a_custom_domain_is_allowed_beside_the_endpoint(settings, s3_settings, moto_endpoint):  # noqa: F811
    from django.core.files.storage import storages

    private = settings.STORAGES["private"]
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            **private,
            "OPTIONS": {**private["OPTIONS"], "custom_domain": "cdn.example.org"},
        },
    }
    storages._storages.pop("private", None)
    assert private_bucket_origins() == (moto_endpoint, "https://cdn.example.org")


def test_playback_link_is_sigv4_and_outlives_the_video(client, s3_settings):  # noqa: F811
    candidate = person("cand@example.org")
    submission = start_submission(build_track(), candidate)
    VideoSubmission.objects.filter(pk=submission.pk).update(
        status=VideoSubmission.Status.READY,
        playback_name=f"videos/{submission.public_id}/playback.mp4",
        duration_seconds=3 * 60 * 60,
    )
    submission.refresh_from_db()
    client.force_login(candidate)
    response = client.get(f"/certification/videos/{submission.public_id}/play/")
    assert response.status_code == 302, response.content
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert int(query["X-Amz-Expires"][0]) == 3 * 60 * 60 + bucket.PLAYBACK_MARGIN_SECONDS
    assert query["response-content-type"] == ["video/mp4"]
    assert response["Location"].startswith(private_bucket_origins()[0] + "/")
