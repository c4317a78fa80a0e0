"""Uploading a demonstration video over tus, processing it with ffmpeg, playing it back."""

import hashlib
import subprocess

import pytest
from django.core import mail

from certification.trainers import services
from certification.trainers.models import VideoSubmission, VideoUpload
from tests.trainers_support.builders import (
    TUS,
    build_track,
    make_video,
    person,
    private_files,
    start_submission,
    tus_metadata,
    tus_upload,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def track():
    return build_track()


@pytest.fixture
def candidate(client):
    user = person("cand@example.org", "Casey Candidate")
    client.force_login(user)
    return user


def test_consent_is_required_before_upload(client, track, candidate):
    services.enrol(track, candidate, actor=candidate)
    enrolment = candidate.trainer_enrolments.get()
    requirement = track.requirements.get(kind="video")
    url = f"/certification/enrolments/{enrolment.public_id}/videos/{requirement.pk}/new/"
    page = client.post(url, {})
    assert "Please confirm consent before uploading" in page.content.decode()
    assert not VideoSubmission.objects.exists()
    response = client.post(url, {"consent": "on"})
    submission = VideoSubmission.objects.get()
    assert response["Location"] == f"/certification/videos/{submission.public_id}/upload/"
    upload_page = client.get(response["Location"]).content.decode()
    assert 'id="video-uploader"' in upload_page and "dist/upload.js" in upload_page
    assert "<script>" not in upload_page


def test_video_uploaded_in_chunks_is_processed_and_plays_with_ranges(
    client, track, candidate, tmp_path, settings, django_capture_on_commit_callbacks
):
    source = make_video(tmp_path / "demo.mp4").read_bytes()
    submission = start_submission(track, candidate)

    with django_capture_on_commit_callbacks(execute=True):
        location, responses = tus_upload(client, submission, source, chunk=len(source) // 3 + 1)

    assert [r.status_code for r in responses] == [204, 204, 204]
    assert responses[-1]["Upload-Offset"] == str(len(source))
    assert responses[-1]["Tus-Resumable"] == "1.0.0"
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.READY
    assert 1.5 < submission.duration_seconds < 2.5
    assert (submission.width, submission.height) == (160, 120)
    assert (submission.video_codec, submission.audio_codec) == ("h264", "aac")
    assert submission.transcoded is False
    assert "ready for review" in mail.outbox[-1].subject

    dashboard = client.get("/certification/").content.decode()
    assert "Ready for review" in dashboard

    whole = client.get(f"/certification/videos/{submission.public_id}/play/")
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    assert (
        hashlib.sha256(b"".join(whole.streaming_content)).digest()
        == hashlib.sha256(source).digest()
    )

    part = client.get(
        f"/certification/videos/{submission.public_id}/play/", HTTP_RANGE="bytes=100-199"
    )
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-199/{len(source)}"
    assert b"".join(part.streaming_content) == source[100:200]

    tail = client.get(f"/certification/videos/{submission.public_id}/play/", HTTP_RANGE="bytes=-50")
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == source[-50:]

    beyond = client.get(
        f"/certification/videos/{submission.public_id}/play/", HTTP_RANGE=f"bytes={len(source)}-"
    )
    assert beyond.status_code == 416

    poster = client.get(f"/certification/videos/{submission.public_id}/poster/")
    assert poster.status_code == 200 and b"".join(poster.streaming_content)[:2] == b"\xff\xd8"
    # Nothing of the upload is left in the staging folder.
    assert not [f for f in private_files(settings) if f.startswith("video-uploads/")]


def test_resume_after_interruption_continues_from_head_offset(
    client, track, candidate, tmp_path, django_capture_on_commit_callbacks
):
    source = make_video(tmp_path / "demo.mp4").read_bytes()
    submission = start_submission(track, candidate)
    created = client.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH=str(len(source)),
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id, filename="demo.mp4"),
        **TUS,
    )
    location = created["Location"]
    half = len(source) // 2
    client.generic(
        "PATCH",
        location,
        source[:half],
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
    )

    head = client.head(location, **TUS)
    assert head["Upload-Offset"] == str(half) and head["Upload-Length"] == str(len(source))
    with django_capture_on_commit_callbacks(execute=True):
        done = client.generic(
            "PATCH",
            location,
            source[half:],
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET=str(half),
            **TUS,
        )
    assert done.status_code == 204
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.READY


def test_wrong_offset_is_409_and_changes_nothing(client, track, candidate):
    submission = start_submission(track, candidate)
    created = client.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH="1000",
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id),
        **TUS,
    )
    response = client.generic(
        "PATCH",
        created["Location"],
        b"x" * 10,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="500",
        **TUS,
    )
    assert response.status_code == 409
    assert response["Upload-Offset"] == "0"
    assert client.head(created["Location"], **TUS)["Upload-Offset"] == "0"


def test_upload_over_the_track_limit_is_413_before_anything_is_stored(client, candidate, settings):
    track = build_track(max_upload_bytes=1000)
    submission = start_submission(track, candidate)
    response = client.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH="1001",
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id),
        **TUS,
    )
    assert response.status_code == 413
    assert "limit for this track" in response.content.decode()
    assert not VideoUpload.objects.exists()
    assert private_files(settings) == []


def test_chunk_past_upload_length_is_refused(client, track, candidate):
    submission = start_submission(track, candidate)
    created = client.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH="10",
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id),
        **TUS,
    )
    response = client.generic(
        "PATCH",
        created["Location"],
        b"x" * 20,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
    )
    assert response.status_code == 413
    assert client.head(created["Location"], **TUS)["Upload-Offset"] == "0"


def test_options_and_version_headers(client, candidate):
    options = client.options("/certification/uploads/tus/")
    assert options.status_code == 204
    assert options["Tus-Version"] == "1.0.0"
    assert options["Tus-Extension"] == "creation,termination"
    missing_version = client.post("/certification/uploads/tus/", HTTP_UPLOAD_LENGTH="10")
    assert missing_version.status_code == 412


def test_termination_deletes_the_partial_file(client, track, candidate, settings):
    submission = start_submission(track, candidate)
    location, _ = tus_upload(client, submission, b"abc" * 10, chunk=9)
    # 27 of 30 bytes sent in 9-byte chunks means it completed; start a fresh one to terminate.
    submission2 = VideoSubmission.objects.get(pk=submission.pk)
    assert submission2.status != VideoSubmission.Status.UPLOADING
    other = start_submission(track, person("two@example.org"))
    client.force_login(other.enrolment.candidate)
    created = client.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH="100",
        HTTP_UPLOAD_METADATA=tus_metadata(submission=other.public_id),
        **TUS,
    )
    client.generic(
        "PATCH",
        created["Location"],
        b"y" * 40,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
    )
    assert any(f.startswith("video-uploads/") for f in private_files(settings))
    assert client.delete(created["Location"], **TUS).status_code == 204
    assert not any(f.startswith("video-uploads/") for f in private_files(settings))
    assert client.head(created["Location"], **TUS).status_code == 404


@pytest.mark.parametrize(
    "name,content,reason",
    [
        (
            "notes.mp4",
            b"These are my session notes, not a video.\n" * 50,
            "not a video we can read",
        ),
        (
            "playlist.mp4",
            b"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nhttp://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n",
            "not a video we can read",
        ),
    ],
)
def test_files_that_are_not_videos_are_rejected_with_a_reason(
    client, track, candidate, settings, name, content, reason, django_capture_on_commit_callbacks
):
    submission = start_submission(track, candidate)
    with django_capture_on_commit_callbacks(execute=True):
        tus_upload(client, submission, content, filename=name)
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.FAILED
    assert reason in submission.failure_reason
    assert private_files(settings) == []
    assert "could not accept" in mail.outbox[-1].subject
    page = client.get(f"/certification/videos/{submission.public_id}/").content.decode()
    assert reason in page


def test_image_renamed_mp4_is_rejected(
    client, track, candidate, settings, tmp_path, django_capture_on_commit_callbacks
):
    image = tmp_path / "photo.png"
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x64",
            "-frames:v",
            "1",
            str(image),
        ],
        check=True,
    )
    submission = start_submission(track, candidate)
    with django_capture_on_commit_callbacks(execute=True):
        tus_upload(client, submission, image.read_bytes(), filename="photo.mp4")
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.FAILED
    assert "not a video we can read" in submission.failure_reason
    assert private_files(settings) == []


def test_zero_byte_file_is_refused_with_a_reason(client, track, candidate, settings):
    submission = start_submission(track, candidate)
    response = client.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH="0",
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id),
        **TUS,
    )
    assert response.status_code == 409
    assert "The file is empty" in response.content.decode()
    assert private_files(settings) == []


@pytest.mark.parametrize("faststart", [False, True])
def test_truncated_video_is_rejected(
    client, track, candidate, settings, tmp_path, faststart, django_capture_on_commit_callbacks
):
    data = make_video(tmp_path / "cut.mp4", seconds=3, faststart=faststart).read_bytes()
    submission = start_submission(track, candidate)
    with django_capture_on_commit_callbacks(execute=True):
        tus_upload(client, submission, data[: len(data) // 2])
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.FAILED
    assert submission.failure_reason
    assert private_files(settings) == []


def test_video_longer_than_the_track_allows_is_rejected(
    client, candidate, settings, tmp_path, django_capture_on_commit_callbacks
):
    track = build_track(max_duration_seconds=1)
    submission = start_submission(track, candidate)
    with django_capture_on_commit_callbacks(execute=True):
        tus_upload(client, submission, make_video(tmp_path / "long.mp4", seconds=3).read_bytes())
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.FAILED
    assert "at most" in submission.failure_reason
    assert private_files(settings) == []


def test_video_browsers_cannot_play_is_transcoded(
    client, track, candidate, tmp_path, django_capture_on_commit_callbacks
):
    data = make_video(tmp_path / "demo.webm", codec="vp8").read_bytes()
    submission = start_submission(track, candidate)
    with django_capture_on_commit_callbacks(execute=True):
        tus_upload(client, submission, data, filename="demo.webm")
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.READY
    assert submission.transcoded and submission.video_codec == "vp8"
    played = b"".join(
        client.get(f"/certification/videos/{submission.public_id}/play/").streaming_content
    )
    out = tmp_path / "played.mp4"
    out.write_bytes(played)
    probe = subprocess.run(
        [
            "ffprobe",
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,profile,pix_fmt",
            "-of",
            "csv=p=0",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "h264,High,yuv420p" in probe and "aac" in probe


def test_file_name_with_path_and_script_is_stored_under_a_generated_name(
    client, track, candidate, settings, tmp_path, django_capture_on_commit_callbacks
):
    data = make_video(tmp_path / "demo.mp4").read_bytes()
    submission = start_submission(track, candidate)
    evil = "../../etc\\..\\<img src=x onerror=alert(1)>.mp4"
    with django_capture_on_commit_callbacks(execute=True):
        tus_upload(client, submission, data, filename=evil)
    submission.refresh_from_db()
    assert submission.source_name == f"videos/{submission.public_id}/source"
    assert all(f.startswith(f"videos/{submission.public_id}/") for f in private_files(settings))
    page = client.get(f"/certification/videos/{submission.public_id}/").content.decode()
    assert "<img src=x" not in page
    assert "“&lt;img src=x onerror=alert(1)&gt;.mp4”" in page


def test_other_peoples_uploads_and_videos_are_not_found(
    client, track, candidate, tmp_path, django_capture_on_commit_callbacks
):
    data = make_video(tmp_path / "demo.mp4").read_bytes()
    submission = start_submission(track, candidate)
    created = client.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH=str(len(data)),
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id),
        **TUS,
    )
    location = created["Location"]
    intruder = person("intruder@example.org")
    client.force_login(intruder)
    assert client.head(location, **TUS).status_code == 404
    assert (
        client.generic(
            "PATCH",
            location,
            data,
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET="0",
            **TUS,
        ).status_code
        == 404
    )
    assert client.delete(location, **TUS).status_code == 404
    # Nor can they attach an upload to someone else's submission.
    hijack = client.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH="10",
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id),
        **TUS,
    )
    assert hijack.status_code == 404

    client.force_login(candidate)
    with django_capture_on_commit_callbacks(execute=True):
        client.generic(
            "PATCH",
            location,
            data,
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET="0",
            **TUS,
        )
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.READY

    client.force_login(intruder)
    for url in (
        f"/certification/videos/{submission.public_id}/play/",
        f"/certification/videos/{submission.public_id}/poster/",
        f"/certification/videos/{submission.public_id}/",
    ):
        assert client.get(url).status_code == 404, url
    # The review page is for reviewers only: a member without the role is refused.
    assert client.get(f"/certification/reviews/{submission.public_id}/").status_code == 403
    client.logout()
    # Owner routes send a signed-out visitor to log in (cms.access.owner), serving nothing.
    play = f"/certification/videos/{submission.public_id}/play/"
    response = client.get(play)
    assert response.status_code == 302
    assert response["Location"] == f"/accounts/login/?next={play}"


def test_withdrawn_video_loses_its_files_but_keeps_its_record(
    client, track, candidate, settings, tmp_path, django_capture_on_commit_callbacks
):
    submission = start_submission(track, candidate)
    with django_capture_on_commit_callbacks(execute=True):
        tus_upload(client, submission, make_video(tmp_path / "demo.mp4").read_bytes())
    assert private_files(settings)
    # The files go once the withdrawal commits (an outbox task).
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/certification/videos/{submission.public_id}/withdraw/", follow=True
        )
    assert "withdrawn and its file deleted" in response.content.decode()
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.WITHDRAWN
    assert private_files(settings) == []
    assert client.get(f"/certification/videos/{submission.public_id}/play/").status_code == 404


def test_x_accel_redirect_hands_playback_to_nginx(
    client, track, candidate, settings, tmp_path, django_capture_on_commit_callbacks
):
    submission = start_submission(track, candidate)
    with django_capture_on_commit_callbacks(execute=True):
        tus_upload(client, submission, make_video(tmp_path / "demo.mp4").read_bytes())
    settings.TRAINERS_VIDEO_DELIVERY = "x-accel"
    response = client.get(f"/certification/videos/{submission.public_id}/play/")
    assert response.status_code == 200 and response.content == b""
    assert response["X-Accel-Redirect"] == f"/protected-media/videos/{submission.public_id}/source"
    client.force_login(person("intruder@example.org"))
    assert client.get(f"/certification/videos/{submission.public_id}/play/").status_code == 404


def test_tus_requests_need_the_csrf_token(track, candidate):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(candidate)
    submission = start_submission(track, candidate)
    refused = strict.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH="10",
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id),
        **TUS,
    )
    assert refused.status_code == 403
    strict.get("/certification/")  # sets the csrftoken cookie
    token = strict.cookies["csrftoken"].value
    accepted = strict.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH="10",
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id),
        HTTP_X_CSRFTOKEN=token,
        **TUS,
    )
    assert accepted.status_code == 201


def test_abandoned_partial_uploads_are_removed_after_a_week(
    client, track, candidate, settings, time_machine, django_capture_on_commit_callbacks
):
    from datetime import timedelta

    from django.utils import timezone

    submission = start_submission(track, candidate)
    created = client.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH="100",
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id),
        **TUS,
    )
    client.generic(
        "PATCH",
        created["Location"],
        b"z" * 40,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
    )
    services.purge_expired_videos()
    assert private_files(settings)
    time_machine.move_to(timezone.now() + timedelta(days=8))
    # The bytes go once the purge's transaction commits (an outbox task).
    with django_capture_on_commit_callbacks(execute=True):
        services.purge_expired_videos()
    assert private_files(settings) == []
    assert not VideoUpload.objects.exists()
    assert client.head(created["Location"], **TUS).status_code == 404


def test_patch_streams_the_body_without_loading_it(
    client, track, candidate, tmp_path, monkeypatch, django_capture_on_commit_callbacks
):
    """Memory stays flat: the tus view reads the stream in pieces, never `request.body`."""
    from django.http import HttpRequest

    def refuse(self):
        raise AssertionError("request.body must not be read by the tus endpoint")

    data = make_video(tmp_path / "demo.mp4").read_bytes()
    submission = start_submission(track, candidate)
    monkeypatch.setattr(HttpRequest, "body", property(refuse))
    with django_capture_on_commit_callbacks(execute=True):
        _, responses = tus_upload(client, submission, data, chunk=len(data) // 2 + 1)
    assert [r.status_code for r in responses] == [204, 204]
    submission.refresh_from_db()
    assert submission.status == VideoSubmission.Status.READY


def test_status_endpoint_reports_processing_state_to_its_owner_only(client, track, candidate):
    submission = start_submission(track, candidate)
    VideoSubmission.objects.filter(pk=submission.pk).update(status="processing")
    page = client.get(f"/certification/videos/{submission.public_id}/").content.decode()
    assert f'data-status-url="/certification/videos/{submission.public_id}/status/"' in page
    status = client.get(f"/certification/videos/{submission.public_id}/status/")
    assert status.json() == {"status": "processing", "label": "Processing"}
    client.force_login(person("other@example.org"))
    assert client.get(f"/certification/videos/{submission.public_id}/status/").status_code == 404


def test_a_second_concurrent_patch_is_told_to_retry(client, track, candidate):
    """Two writers never interleave bytes: while one PATCH holds the upload, another gets 423."""
    import fcntl

    from certification.trainers.partial_uploads import partial_path

    submission = start_submission(track, candidate)
    created = client.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH="100",
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id),
        **TUS,
    )
    upload = VideoUpload.objects.get()
    with open(partial_path(upload), "ab") as held:
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        busy = client.generic(
            "PATCH",
            created["Location"],
            b"a" * 10,
            content_type="application/offset+octet-stream",
            HTTP_UPLOAD_OFFSET="0",
            **TUS,
        )
    assert busy.status_code == 423
    assert client.head(created["Location"], **TUS)["Upload-Offset"] == "0"
