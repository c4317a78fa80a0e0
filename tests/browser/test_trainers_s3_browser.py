"""S3 mode in a real browser: a candidate on a phone-sized screen uploads a video straight to
the bucket (moto, on another origin than the site), then plays it and seeks in it, all under
the site's Content-Security-Policy (the page fixture fails the test on any CSP violation)."""

import pytest
from django.test import Client
from playwright.sync_api import expect

from certification.trainers import bucket
from certification.trainers.models import VideoSubmission
from tests.browser.test_trainers_certification import sign_in
from tests.integration.test_trainers_s3 import moto_endpoint, s3_settings  # noqa: F401
from tests.trainers_support.builders import build_track, make_video, person, start_submission

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
PLAYER = "document.getElementById('review-player')"


def wait_for_player(page, condition, attempts=300):
    """Poll the player from here: Playwright's in-page polling evaluates a string, which the
    site's CSP (no 'unsafe-eval') refuses."""
    for _ in range(attempts):
        if page.evaluate(f"() => {{ const v = {PLAYER}; return Boolean({condition}); }}"):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"the player never reached: {condition}")


def test_upload_play_and_seek_against_a_bucket_on_another_origin(
    page,
    live_server,
    tmp_path,
    s3_settings,  # noqa: F811
    moto_endpoint,  # noqa: F811
):
    s3, bucket_name = s3_settings
    bucket.configure_bucket(allowed_origins=[live_server.url])
    assert moto_endpoint.rsplit(":", 1)[1] != live_server.url.rsplit(":", 1)[1]
    page.problems.allowed_host.add("127.0.0.1")
    bucket_requests = []
    page.on(
        "request",
        lambda request: (
            bucket_requests.append((request.method, request.url))
            if request.url.startswith(moto_endpoint)
            else None
        ),
    )
    page.set_viewport_size(PHONE)

    candidate = person("casey@example.org", "Casey Candidate")
    submission = start_submission(build_track(), candidate)
    video = make_video(tmp_path / "phone clip.mp4", seconds=4, size="320x240")

    page.goto(live_server.url + "/certification/directory/")
    sign_in(page, candidate)
    response = page.goto(f"/certification/videos/{submission.public_id}/upload/")
    policy = response.headers["content-security-policy"]
    assert f"connect-src 'self' {moto_endpoint}" in policy
    page.locator("input.uppy-Dashboard-input").first.set_input_files(str(video))
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    expect(page.locator("#upload-status")).to_have_text(
        "Upload complete. We are now checking and preparing your video.", timeout=60_000
    )
    # The bytes went to the bucket, not through the site.
    assert any(method == "PUT" and "partNumber=" in url for method, url in bucket_requests)
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.READY
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket_name)["Contents"]}
    assert f"private/videos/{submission.public_id}/source" in keys

    page.goto(f"/certification/videos/{submission.public_id}/")
    player = page.locator("#review-player")
    expect(player).to_be_visible()
    assert player.bounding_box()["width"] <= PHONE["width"]
    wait_for_player(page, "v.readyState >= 1")
    assert page.evaluate("document.getElementById('review-player').duration") > 3
    assert page.evaluate("document.getElementById('review-player').currentSrc").startswith(
        f"{live_server.url}/certification/videos/"
    )
    page.evaluate(
        "() => { const v = document.getElementById('review-player'); v.muted = true; v.play(); }"
    )
    wait_for_player(page, "v.currentTime > 0.2")
    page.evaluate(f"() => {{ {PLAYER}.currentTime = 3; }}")
    wait_for_player(page, "!v.seeking && v.currentTime >= 3 && v.readyState >= 2")
    assert page.evaluate("document.getElementById('review-player').error") is None
    # Playback came from the bucket through a SigV4 presigned GET.
    played = [url for method, url in bucket_requests if method == "GET" and "/source" in url]
    assert played and all("X-Amz-Algorithm=AWS4-HMAC-SHA256" in url for url in played)

    # Someone else gets no link to it.
    intruder = Client()
    intruder.force_login(person("intruder@example.org"))
    assert intruder.get(f"/certification/videos/{submission.public_id}/play/").status_code == 404


def test_an_s3_upload_survives_a_restarting_site_and_a_dropped_part(
    page,
    live_server,
    tmp_path,
    s3_settings,  # noqa: F811
    moto_endpoint,  # noqa: F811
):
    """A deploy answers the signing requests with 502 for a moment, and the connection drops
    during a part: the upload waits and carries on by itself (no click on "retry")."""
    s3, bucket_name = s3_settings
    bucket.configure_bucket(allowed_origins=[live_server.url])
    page.problems.allowed_host.add("127.0.0.1")
    page.set_viewport_size(PHONE)
    failures = {"sign": 0, "part": 0}

    def restarting_site(route):
        # The first two presign calls meet a site that is restarting.
        if failures["sign"] < 2:
            failures["sign"] += 1
            route.fulfill(status=502, body="Bad Gateway", content_type="text/html")
        else:
            route.continue_()

    def dropped_part(route):
        # The connection drops on every attempt of the first part for a while.
        if route.request.method == "PUT" and failures["part"] < 5:
            failures["part"] += 1
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/certification/uploads/s3/sign/", restarting_site)
    page.route(f"{moto_endpoint}/**", dropped_part)

    candidate = person("casey@example.org", "Casey Candidate")
    submission = start_submission(build_track(), candidate)
    video = make_video(tmp_path / "clip.mp4", seconds=2)
    page.goto(live_server.url + "/certification/directory/")
    sign_in(page, candidate)
    page.goto(f"/certification/videos/{submission.public_id}/upload/")
    page.locator("input.uppy-Dashboard-input").first.set_input_files(str(video))
    page.locator(".uppy-StatusBar-actionBtn--upload").click()
    expect(page.locator("#upload-status")).to_have_text(
        "Upload complete. We are now checking and preparing your video.", timeout=90_000
    )
    assert failures == {"sign": 2, "part": 5}
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.READY
    source = s3.get_object(Bucket=bucket_name, Key=f"private/videos/{submission.public_id}/source")
    assert source["Body"].read() == video.read_bytes()
