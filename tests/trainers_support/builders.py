"""Builders shared by the trainer-certification tests: people, a track, real videos."""

import base64
import subprocess
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission

from certification.trainers import services
from certification.trainers.models import (
    Choice,
    Question,
    QuestionBank,
    Requirement,
    Rubric,
    RubricCriterion,
    RubricLevel,
    Track,
    VideoSubmission,
)
from cms.roles import CERTIFICATION_REVIEWER
from courses.models import Programme

User = get_user_model()


def person(email, name=None, **extra):
    return User.objects.create_user(
        email=email,
        password="correct horse battery",
        legal_name=name or email.split("@")[0],
        **extra,
    )


def reviewer(email, name=None):
    user = person(email, name)
    group, _ = Group.objects.get_or_create(name=CERTIFICATION_REVIEWER)
    user.groups.add(group)
    return user


def lead(email="lead@example.org", name="Lena Lead"):
    user = reviewer(email, name)
    user.user_permissions.add(Permission.objects.get(codename="lead_certification"))
    return User.objects.get(pk=user.pk)


def build_track(*, max_upload_bytes=50 * 1024 * 1024, max_duration_seconds=60, written=False):
    """A small "Certified Trainer" track: one requirement of each kind and a 3-criterion rubric."""
    track = Track.objects.create(
        name="Certified Trainer",
        slug="certified-trainer",
        credential_title="FIT Certified Trainer",
        max_upload_bytes=max_upload_bytes,
        max_duration_seconds=max_duration_seconds,
        credential_valid_months=24,
        video_retention_days=30,
    )
    bank = QuestionBank.objects.create(
        title="FIT knowledge check",
        mode=QuestionBank.Mode.WRITTEN if written else QuestionBank.Mode.CHOICE,
        pass_mark_percent=50,
        attempt_limit=2,
    )
    if written:
        Question.objects.create(bank=bank, kind=Question.Kind.WRITTEN, text="Explain the ORS.")
    else:
        q1 = Question.objects.create(
            bank=bank, kind=Question.Kind.SINGLE, text="What does ORS measure?"
        )
        Choice.objects.create(question=q1, text="Outcome: how the client is doing", is_correct=True)
        Choice.objects.create(question=q1, text="The therapist's caseload")
        q2 = Question.objects.create(
            bank=bank, kind=Question.Kind.MULTIPLE, text="Which are FIT measures?"
        )
        Choice.objects.create(question=q2, text="Outcome Rating Scale", is_correct=True)
        Choice.objects.create(question=q2, text="Session Rating Scale", is_correct=True)
        Choice.objects.create(question=q2, text="Body mass index")
    Requirement.objects.create(
        track=track,
        kind="attendance",
        title="Training of Trainers",
        programme=Programme.objects.get_or_create(
            slug="training-of-trainers", defaults={"name": "Training of Trainers"}
        )[0],
        sort_order=1,
    )
    Requirement.objects.create(track=track, kind="video", title="Demonstration video", sort_order=2)
    Requirement.objects.create(
        track=track,
        kind="assessment",
        title="Knowledge assessment",
        question_bank=bank,
        sort_order=3,
    )
    Requirement.objects.create(
        track=track, kind="evidence", title="Agency-level understanding", sort_order=4
    )
    rubric = Rubric.objects.create(track=track, pass_threshold=5)
    for order, (title, required) in enumerate(
        [
            ("Explains feedback clearly", True),
            ("Models the alliance", False),
            ("Uses the data", False),
        ]
    ):
        criterion = RubricCriterion.objects.create(
            rubric=rubric,
            title=title,
            required=required,
            minimum_points=2 if required else 0,
            sort_order=order,
        )
        for label, points in [
            ("Not yet", 0),
            ("Developing", 1),
            ("Proficient", 2),
            ("Exemplary", 3),
        ]:
            RubricLevel.objects.create(criterion=criterion, label=label, points=points)
    return track


def video_requirement(track):
    return track.requirements.get(kind="video")


def levels(track, label):
    """{criterion_id: level_id} choosing the level named `label` for every criterion."""
    return {c.pk: c.levels.get(label=label).pk for c in track.rubric.criteria.all()}


def make_video(path, *, seconds=2, size="160x120", codec="h264", container_args=(), faststart=True):
    """A real little video made by ffmpeg (test pattern plus a tone)."""
    path = Path(path)
    video = {
        "h264": ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-preset", "ultrafast"],
        "vp8": ["-c:v", "libvpx", "-b:v", "200k"],
        "mpeg4": ["-c:v", "mpeg4"],
    }[codec]
    audio = ["-c:a", "libvorbis"] if codec == "vp8" else ["-c:a", "aac"]
    args = [
        "ffmpeg",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc=size={size}:rate=10:duration={seconds}",
        "-f",
        "lavfi",
        "-i",
        f"sine=frequency=440:duration={seconds}",
        *video,
        *audio,
        "-shortest",
    ]
    if faststart and path.suffix in {".mp4", ".mov"}:
        args += ["-movflags", "+faststart"]
    args += [*container_args, str(path)]
    subprocess.run(args, check=True)
    return path


def tus_metadata(**values):
    return ",".join(
        f"{key} {base64.b64encode(str(value).encode()).decode()}" for key, value in values.items()
    )


def start_submission(track, candidate):
    enrolment = services.enrol(track, candidate, actor=candidate)
    return services.start_video_submission(
        enrolment, video_requirement(track), actor=candidate, consent=True
    )


TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}


def tus_upload(client, submission, data, *, filename="demo.mp4", chunk=None):
    """Create and send a tus upload with Django's test client; returns (location, responses)."""
    created = client.post(
        "/certification/uploads/tus/",
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_LENGTH=str(len(data)),
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id, name=filename),
        **TUS,
    )
    assert created.status_code == 201, created.content
    location = created["Location"]
    responses = []
    chunk = chunk or len(data)
    for offset in range(0, len(data), chunk):
        responses.append(
            client.generic(
                "PATCH",
                location,
                data[offset : offset + chunk],
                content_type="application/offset+octet-stream",
                HTTP_UPLOAD_OFFSET=str(offset),
                **TUS,
            )
        )
    return location, responses


def private_files(settings):
    root = Path(settings.STORAGES["private"]["OPTIONS"]["location"])
    return (
        sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        if root.exists()
        else []
    )


def meet_everything(track, candidate, boss):
    """Enrol `candidate`: attendance signed off, video approved, assessment passed, and the
    evidence submitted (not yet reviewed). Returns (enrolment, evidence)."""
    enrolment = services.enrol(track, candidate, actor=candidate)
    services.sign_off_requirement(
        enrolment,
        track.requirements.get(kind="attendance"),
        actor=boss,
        note="Attended Training of Trainers (paper sign-in sheet).",
    )
    video = services.start_video_submission(
        enrolment, track.requirements.get(kind="video"), actor=candidate, consent=True
    )
    VideoSubmission.objects.filter(pk=video.pk).update(status=VideoSubmission.Status.READY)
    services.decide(video, actor=boss, outcome="approve")
    attempt = services.start_attempt(
        enrolment, track.requirements.get(kind="assessment"), actor=candidate
    )
    answers = {
        str(q): [str(c.pk) for c in Question.objects.get(pk=q).choices.filter(is_correct=True)]
        for q in attempt.question_order
    }
    services.submit_attempt(attempt, actor=candidate, answers=answers)
    evidence = services.submit_evidence(
        enrolment,
        track.requirements.get(kind="evidence"),
        actor=candidate,
        statement="I led the agency's implementation of FIT across three clinics for a year.",
    )
    return enrolment, evidence
