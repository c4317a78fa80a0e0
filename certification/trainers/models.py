"""Trainer certification: tracks and their requirements, candidates' enrolments, video
submissions with their review, knowledge assessments, credentials and the public directory.

Tracks are data (staff set them up in the admin), so a new designation needs no code.
"""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from modelcluster.fields import ParentalKey
from modelcluster.models import ClusterableModel
from wagtail.admin.panels import FieldPanel, InlinePanel

FOUR_GIB = 4 * 1024**3


class Track(ClusterableModel):
    """A designation a candidate can earn, e.g. "Certified Trainer" or "FIT Supervisor"."""

    name = models.CharField(max_length=120, unique=True)
    slug = models.SlugField(max_length=120, unique=True)
    description = models.TextField(blank=True)
    credential_title = models.CharField(
        max_length=160, help_text="Printed on the certificate, e.g. 'FIT Certified Trainer'."
    )
    is_open = models.BooleanField(
        default=True, help_text="Candidates can enrol themselves while the track is open."
    )
    max_upload_bytes = models.BigIntegerField(
        default=FOUR_GIB, help_text="Largest video file accepted, in bytes (4 GB by default)."
    )
    max_duration_seconds = models.PositiveIntegerField(
        default=45 * 60, help_text="Longest video accepted, in seconds."
    )
    review_days = models.PositiveIntegerField(
        default=21, help_text="Reviews not submitted this many days after assignment are overdue."
    )
    video_retention_days = models.PositiveIntegerField(
        default=90,
        help_text="Video files are deleted this many days after the final decision; "
        "the review record stays.",
    )
    credential_valid_months = models.PositiveIntegerField(
        null=True, blank=True, help_text="Leave empty for a credential that does not expire."
    )

    panels = [
        FieldPanel("name"),
        FieldPanel("slug"),
        FieldPanel("description"),
        FieldPanel("credential_title"),
        FieldPanel("is_open"),
        FieldPanel("max_upload_bytes"),
        FieldPanel("max_duration_seconds"),
        FieldPanel("review_days"),
        FieldPanel("video_retention_days"),
        FieldPanel("credential_valid_months"),
        InlinePanel("requirements", label="Requirements"),
    ]

    class Meta:
        ordering = ["name"]
        permissions = [
            ("lead_certification", "Can assign reviewers, decide submissions, issue credentials"),
        ]

    def __str__(self):
        return self.name

    @property
    def pass_threshold(self):
        rubric = getattr(self, "rubric", None)
        return rubric.pass_threshold if rubric else None


class Requirement(models.Model):
    """One thing a candidate must do for a track."""

    class Kind(models.TextChoices):
        ATTENDANCE = "attendance", "Attended an event of a programme"
        VIDEO = "video", "Approved demonstration video"
        ASSESSMENT = "assessment", "Passed knowledge assessment"
        EVIDENCE = "evidence", "Other evidence reviewed by staff"

    track = ParentalKey(Track, on_delete=models.CASCADE, related_name="requirements")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, help_text="What the candidate should do.")
    programme = models.ForeignKey(
        "courses.Programme",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certification_requirements",
        help_text="For attendance: attending any event of this programme meets the requirement.",
    )
    question_bank = models.ForeignKey(
        "QuestionBank",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requirements",
        help_text="For a knowledge assessment: the question bank the candidate answers.",
    )
    due_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Deadline: days after enrolment (optional)."
    )
    sort_order = models.PositiveIntegerField(default=0)

    panels = [
        FieldPanel("kind"),
        FieldPanel("title"),
        FieldPanel("description"),
        FieldPanel("programme"),
        FieldPanel("question_bank"),
        FieldPanel("due_days"),
    ]

    class Meta:
        ordering = ["track", "sort_order", "pk"]

    def __str__(self):
        return f"{self.track}: {self.title}"


class Enrolment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Working towards the credential"
        CERTIFIED = "certified", "Certified"
        WITHDRAWN = "withdrawn", "Withdrawn"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    track = models.ForeignKey(Track, on_delete=models.PROTECT, related_name="enrolments")
    candidate = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trainer_enrolments"
    )
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enrolled_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["track", "candidate"], name="one_enrolment_per_track")
        ]
        ordering = ["-enrolled_at"]

    def __str__(self):
        return f"{self.candidate.display_name} – {self.track}"


class RequirementSignOff(models.Model):
    """Staff record that a requirement is met outside the platform (e.g. attendance in 2019)."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="sign_offs")
    requirement = models.ForeignKey(Requirement, on_delete=models.CASCADE, related_name="+")
    note = models.TextField()
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    signed_off_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "requirement"], name="one_sign_off")
        ]

    def __str__(self):
        return f"{self.requirement} signed off for {self.enrolment}"


class VideoSubmission(models.Model):
    """One version of a candidate's demonstration video; a resubmission is a new row."""

    class Status(models.TextChoices):
        UPLOADING = "uploading", "Uploading"
        PROCESSING = "processing", "Processing"
        FAILED = "failed", "Failed"
        READY = "ready", "Ready for review"
        IN_REVIEW = "in_review", "In review"
        APPROVED = "approved", "Approved"
        RESUBMISSION_REQUESTED = "resubmission_requested", "Resubmission requested"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"

    FINAL = {Status.APPROVED, Status.RESUBMISSION_REQUESTED, Status.REJECTED}

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="videos")
    requirement = models.ForeignKey(Requirement, on_delete=models.PROTECT, related_name="videos")
    version = models.PositiveIntegerField(default=1)
    previous = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="next_version"
    )
    status = models.CharField(max_length=30, choices=Status.choices, default=Status.UPLOADING)
    failure_reason = models.TextField(blank=True)
    consent_confirmed_at = models.DateTimeField()
    original_filename = models.CharField(
        max_length=255, blank=True, help_text="Shown to people only; never used as a path."
    )
    size_bytes = models.BigIntegerField(null=True, blank=True)
    # Storage names in STORAGES["private"], always generated by the project.
    source_name = models.CharField(max_length=255, blank=True)
    playback_name = models.CharField(max_length=255, blank=True)
    poster_name = models.CharField(max_length=255, blank=True)
    duration_seconds = models.FloatField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    container = models.CharField(max_length=100, blank=True)
    video_codec = models.CharField(max_length=50, blank=True)
    audio_codec = models.CharField(max_length=50, blank=True)
    transcoded = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    files_deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Staff capabilities (cms.access.Perm); roles are groups that hold them.
        permissions = [
            ("review_submission", "Can review demonstration videos assigned to them"),
        ]
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "requirement", "version"], name="one_video_version"
            )
        ]

    def __str__(self):
        return f"{self.enrolment} – video v{self.version}"

    @property
    def candidate(self):
        return self.enrolment.candidate

    @property
    def is_decided(self):
        return self.status in self.FINAL

    @property
    def has_video(self):
        return bool(self.playback_name) and self.files_deleted_at is None


class VideoUpload(models.Model):
    """The state of one resumable upload: tus (local storage) or S3 multipart."""

    class Backend(models.TextChoices):
        TUS = "tus", "tus"
        S3 = "s3", "S3 multipart"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    submission = models.OneToOneField(
        VideoSubmission, on_delete=models.CASCADE, related_name="upload"
    )
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    backend = models.CharField(max_length=10, choices=Backend.choices, default=Backend.TUS)
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    s3_key = models.CharField(max_length=255, blank=True)
    s3_upload_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Upload {self.id} ({self.offset}/{self.length} bytes)"


class Rubric(ClusterableModel):
    track = models.OneToOneField(Track, on_delete=models.CASCADE, related_name="rubric")
    pass_threshold = models.PositiveIntegerField(
        help_text="Total points a video needs (and every required criterion at its minimum)."
    )
    guidance = models.TextField(blank=True, help_text="Shown to reviewers above the rubric.")

    panels = [
        FieldPanel("track"),
        FieldPanel("pass_threshold"),
        FieldPanel("guidance"),
        InlinePanel("criteria", label="Criteria"),
    ]

    def __str__(self):
        return f"Rubric for {self.track}"

    @property
    def max_points(self):
        return sum(
            max((lvl.points for lvl in c.levels.all()), default=0) for c in self.criteria.all()
        )


class RubricCriterion(ClusterableModel):
    rubric = ParentalKey(Rubric, on_delete=models.CASCADE, related_name="criteria")
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    required = models.BooleanField(
        default=False, help_text="A video fails if this criterion scores below its minimum."
    )
    minimum_points = models.PositiveIntegerField(
        default=0, help_text="For a required criterion: the lowest acceptable points."
    )
    sort_order = models.PositiveIntegerField(default=0)

    panels = [
        FieldPanel("title"),
        FieldPanel("description"),
        FieldPanel("required"),
        FieldPanel("minimum_points"),
    ]

    class Meta:
        ordering = ["sort_order", "pk"]

    def __str__(self):
        return self.title


class RubricLevel(models.Model):
    criterion = ParentalKey(RubricCriterion, on_delete=models.CASCADE, related_name="levels")
    label = models.CharField(max_length=100)
    points = models.PositiveIntegerField()
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["criterion", "points"]

    def __str__(self):
        return f"{self.label} ({self.points})"


class ReviewerAssignment(models.Model):
    submission = models.ForeignKey(
        VideoSubmission, on_delete=models.CASCADE, related_name="assignments"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trainer_reviews"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["submission", "reviewer"], name="one_assignment")
        ]
        ordering = ["assigned_at"]

    def __str__(self):
        return f"{self.reviewer} reviews {self.submission}"

    @property
    def is_overdue(self):
        return not hasattr(self, "review") and timezone.now() > self.due_at


class Review(models.Model):
    class Recommendation(models.TextChoices):
        APPROVE = "approve", "Approve"
        RESUBMIT = "resubmit", "Request resubmission"
        REJECT = "reject", "Reject"

    assignment = models.OneToOneField(
        ReviewerAssignment, on_delete=models.CASCADE, related_name="review"
    )
    recommendation = models.CharField(max_length=20, choices=Recommendation.choices)
    guidance = models.TextField(blank=True, help_text="What the candidate should work on.")
    total_points = models.PositiveIntegerField(default=0)
    meets_rubric = models.BooleanField(default=False)
    submitted_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"Review of {self.assignment.submission}: {self.get_recommendation_display()}"


class ReviewScore(models.Model):
    review = models.ForeignKey(Review, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(RubricCriterion, on_delete=models.PROTECT, related_name="+")
    level = models.ForeignKey(RubricLevel, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["review", "criterion"], name="one_score_per_criterion")
        ]

    def __str__(self):
        return f"{self.criterion}: {self.level}"


class ReviewComment(models.Model):
    submission = models.ForeignKey(
        VideoSubmission, on_delete=models.CASCADE, related_name="comments"
    )
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL)
    at_seconds = models.FloatField(help_text="Where in the video the comment applies.")
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at_seconds", "created_at"]

    def __str__(self):
        return f"{self.timestamp} {self.body[:60]}"

    @property
    def timestamp(self):
        whole = int(self.at_seconds)
        return f"{whole // 60}:{whole % 60:02d}"


class Decision(models.Model):
    """The certification lead's final word on one video version."""

    class Outcome(models.TextChoices):
        APPROVE = "approve", "Approved"
        RESUBMIT = "resubmit", "Resubmission requested"
        REJECT = "reject", "Rejected"

    submission = models.OneToOneField(
        VideoSubmission, on_delete=models.CASCADE, related_name="decision"
    )
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    guidance = models.TextField(blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"{self.submission}: {self.get_outcome_display()}"


class EvidenceSubmission(models.Model):
    """Other evidence (e.g. agency-level understanding) that staff read and accept or return."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", "Waiting for staff review"
        ACCEPTED = "accepted", "Accepted"
        RETURNED = "returned", "Returned with feedback"

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="evidence")
    requirement = models.ForeignKey(Requirement, on_delete=models.PROTECT, related_name="+")
    statement = models.TextField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.SUBMITTED)
    feedback = models.TextField(blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(default=timezone.now)
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]

    def __str__(self):
        return f"Evidence for {self.requirement} ({self.get_status_display()})"


class QuestionBank(ClusterableModel):
    class Mode(models.TextChoices):
        CHOICE = "choice", "Single and multiple choice, marked automatically"
        WRITTEN = "written", "Written answers graded by staff"

    title = models.CharField(max_length=200)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.CHOICE)
    instructions = models.TextField(blank=True)
    pass_mark_percent = models.PositiveIntegerField(default=80)
    attempt_limit = models.PositiveIntegerField(default=3)
    randomise_order = models.BooleanField(default=True)

    panels = [
        FieldPanel("title"),
        FieldPanel("mode"),
        FieldPanel("instructions"),
        FieldPanel("pass_mark_percent"),
        FieldPanel("attempt_limit"),
        FieldPanel("randomise_order"),
        InlinePanel("questions", label="Questions"),
    ]

    def __str__(self):
        return self.title


class Question(ClusterableModel):
    class Kind(models.TextChoices):
        SINGLE = "single", "Single choice"
        MULTIPLE = "multiple", "Multiple choice (select all that apply)"
        WRITTEN = "written", "Written answer"

    bank = ParentalKey(QuestionBank, on_delete=models.CASCADE, related_name="questions")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.SINGLE)
    text = models.TextField()
    sort_order = models.PositiveIntegerField(default=0)

    panels = [FieldPanel("kind"), FieldPanel("text"), InlinePanel("choices", label="Choices")]

    class Meta:
        ordering = ["sort_order", "pk"]

    def __str__(self):
        return self.text[:80]


class Choice(models.Model):
    question = ParentalKey(Question, on_delete=models.CASCADE, related_name="choices")
    text = models.CharField(max_length=300)
    is_correct = models.BooleanField(default=False)

    panels = [FieldPanel("text"), FieldPanel("is_correct")]

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return self.text


class AssessmentAttempt(models.Model):
    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        AWAITING_GRADING = "awaiting_grading", "Waiting for staff to grade"
        PASSED = "passed", "Passed"
        FAILED = "failed", "Not passed"

    enrolment = models.ForeignKey(Enrolment, on_delete=models.CASCADE, related_name="attempts")
    requirement = models.ForeignKey(Requirement, on_delete=models.PROTECT, related_name="+")
    bank = models.ForeignKey(QuestionBank, on_delete=models.PROTECT, related_name="attempts")
    number = models.PositiveIntegerField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.IN_PROGRESS)
    # The order this candidate saw: question ids, and per question its choice ids.
    question_order = models.JSONField(default=list)
    choice_order = models.JSONField(default=dict)
    answers = models.JSONField(default=dict)
    score_percent = models.PositiveIntegerField(null=True, blank=True)
    grader_feedback = models.TextField(blank=True)
    graded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    started_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "requirement", "number"], name="one_attempt_number"
            )
        ]

    def __str__(self):
        return f"{self.bank} attempt {self.number} ({self.get_status_display()})"


class Credential(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUPERSEDED = "superseded", "Superseded by a renewal"
        REVOKED = "revoked", "Revoked"

    verification_code = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    number = models.CharField(max_length=40, unique=True)
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="credentials")
    holder_name = models.CharField(max_length=200, help_text="Legal name, exactly as typed.")
    title = models.CharField(max_length=160)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    issued_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    renews = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="renewed_by"
    )
    pdf_name = models.CharField(max_length=255, blank=True)
    pdf_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        ordering = ["-issued_at"]

    def __str__(self):
        return f"{self.title} – {self.holder_name} ({self.number})"

    @property
    def is_current(self):
        if self.status != self.Status.ACTIVE:
            return False
        return self.expires_at is None or self.expires_at > timezone.now()


class DirectoryListing(models.Model):
    """A certified trainer's opt-in entry in the public directory."""

    person = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="trainer_listing"
    )
    listed = models.BooleanField(default=False)
    display_name = models.CharField(max_length=200)
    place = models.CharField(max_length=200, blank=True, help_text="City and country.")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return self.display_name
