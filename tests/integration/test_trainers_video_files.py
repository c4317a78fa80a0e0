"""Video files are deleted after the change that drops them commits, never under its locks;
the retention purge commits video by video and a run that dies part-way is carried on."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from certification.trainers import services
from certification.trainers.models import VideoSubmission
from certification.trainers.services import videos
from tests.trainers_support.builders import build_track, person, private_files

pytestmark = pytest.mark.django_db
VS = VideoSubmission.Status


class WorkerKilled(BaseException):
    """Stands for the purge's worker process dying: nothing in the purge catches it."""


def stored_video(enrolment, requirement, version, *, status, decided_days_ago=None):
    submission = VideoSubmission.objects.create(
        enrolment=enrolment,
        requirement=requirement,
        version=version,
        status=status,
        consent_confirmed_at=timezone.now(),
        decided_at=timezone.now() - timedelta(days=decided_days_ago)
        if decided_days_ago is not None
        else None,
    )
    storage = storages["private"]
    prefix = f"videos/{submission.public_id}"
    submission.source_name = storage.save(f"{prefix}/source", ContentFile(b"video bytes"))
    submission.poster_name = storage.save(f"{prefix}/poster.jpg", ContentFile(b"jpeg"))
    submission.playback_name = submission.source_name
    submission.save()
    return submission


@pytest.fixture
def enrolment():
    track = build_track()
    candidate = person("cand@example.org")
    return services.enrol(track, candidate, actor=candidate)


def test_a_withdrawal_that_rolls_back_keeps_the_files(enrolment, settings):
    requirement = enrolment.track.requirements.get(kind="video")
    submission = stored_video(enrolment, requirement, 1, status=VS.READY)

    with pytest.raises(RuntimeError), transaction.atomic():
        services.withdraw_submission(submission, actor=enrolment.candidate)
        raise RuntimeError("the request failed after the withdrawal")

    submission.refresh_from_db()
    assert submission.status == VS.READY
    assert len(private_files(settings)) == 2


def test_the_purge_commits_per_video_and_a_rerun_carries_on(
    enrolment, settings, monkeypatch, django_capture_on_commit_callbacks
):
    requirement = enrolment.track.requirements.get(kind="video")
    old = enrolment.track.video_retention_days + 5
    expired = [
        stored_video(enrolment, requirement, n, status=VS.REJECTED, decided_days_ago=old)
        for n in (1, 2, 3)
    ]
    recent = stored_video(enrolment, requirement, 4, status=VS.REJECTED, decided_days_ago=1)
    purge_one = videos._purge_video
    calls = []

    def dies_on_the_second(*args, **kwargs):
        if len(calls) == 1:
            raise WorkerKilled()
        calls.append(1)
        return purge_one(*args, **kwargs)

    monkeypatch.setattr(videos, "_purge_video", dies_on_the_second)
    with pytest.raises(WorkerKilled), django_capture_on_commit_callbacks(execute=True):
        services.purge_expired_videos()
    deleted = VideoSubmission.objects.filter(files_deleted_at__isnull=False)
    assert deleted.count() == 1
    assert len(private_files(settings)) == 2 * 3  # the first video's two files are gone

    monkeypatch.setattr(videos, "_purge_video", purge_one)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_expired_videos() == 2
    assert set(deleted.values_list("pk", flat=True)) == {s.pk for s in expired}
    assert sorted(private_files(settings)) == sorted([recent.source_name, recent.poster_name])
    with django_capture_on_commit_callbacks(execute=True):
        assert services.purge_expired_videos() == 0
