"""Who approves the sponsor's CE, under which rules, and what each event offers.

Every rule is a row that CE administrators edit: regulations change, the code does not.
"""

import re
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from wagtail.admin.panels import FieldPanel, FieldRowPanel, MultiFieldPanel

from courses.storage import private_storage


class CESponsor(models.Model):
    """The organisation that runs the CE programme and signs its certificates."""

    name = models.CharField(max_length=200)
    administrator_name = models.CharField(
        max_length=200, help_text=_("The CE administrator who signs certificates.")
    )
    administrator_title = models.CharField(max_length=200, default="CE Administrator")
    signature = models.FileField(
        upload_to="certification/signatures/",
        storage=private_storage,
        blank=True,
        help_text=_("A PNG or JPEG of the administrator's signature; kept private."),
    )
    contact_email = models.EmailField(blank=True)

    panels = [
        FieldPanel("name"),
        FieldRowPanel([FieldPanel("administrator_name"), FieldPanel("administrator_title")]),
        FieldPanel("signature"),
        FieldPanel("contact_email"),
    ]

    class Meta:
        verbose_name = _("CE sponsor")

    def __str__(self):
        return self.name

    @classmethod
    def current(cls):
        return cls.objects.order_by("pk").first()


class CreditBasis(models.TextChoices):
    FULL_PROGRAM = "full_program", _("Full attendance of the whole program required")
    PER_SESSION = "per_session", _("Credit per session attended in full")
    PER_HOUR = "per_hour", _("Credit per hour attended, rounded down to the increment")


class AccreditingBody(models.Model):
    """An approval the sponsor holds (APA, NBCC, a state board) and that body's credit rules."""

    name = models.CharField(
        max_length=200, help_text=_("For example: American Psychological Association.")
    )
    short_name = models.CharField(max_length=40, help_text=_("For example: APA, NBCC, FL 491."))
    provider_number = models.CharField(max_length=60, blank=True)
    approval_statement = models.TextField(
        help_text=_("Printed on every certificate exactly as the body requires.")
    )
    approved_from = models.DateField(null=True, blank=True)
    approved_until = models.DateField(null=True, blank=True)
    is_sample_data = models.BooleanField(
        default=False,
        help_text=_("Demo approvals with invented provider numbers; never for real certificates."),
    )
    jurisdiction = models.CharField(
        max_length=60,
        blank=True,
        help_text=_("State code for state boards (e.g. FL); empty for national bodies."),
    )
    professions = models.CharField(
        max_length=300, blank=True, help_text=_("Who the approval covers, e.g. psychologists.")
    )
    minutes_per_credit = models.PositiveIntegerField(
        default=60,
        validators=[MinValueValidator(1)],
        help_text=_("50 for bodies that count 50 minutes of instruction as one hour, else 60."),
    )
    credit_basis = models.CharField(
        max_length=20, choices=CreditBasis.choices, default=CreditBasis.PER_SESSION
    )
    credit_increment = models.DecimalField(
        max_digits=4,
        decimal_places=2,
        default=Decimal("0.25"),
        help_text=_("Credit is rounded down to this step, e.g. 0.25 or 0.5 hours."),
    )
    late_grace_minutes = models.PositiveIntegerField(
        default=10,
        help_text=_(
            "Minutes an attendee may arrive late to, or leave early from, a session and still "
            "get its full credit."
        ),
    )
    evaluation_required = models.BooleanField(default=True)
    posttest_required_for_recorded = models.BooleanField(default=True)
    posttest_pass_percent = models.PositiveIntegerField(default=75)
    home_study_watched_percent = models.PositiveIntegerField(
        default=0,
        validators=[MaxValueValidator(100)],
        help_text=_(
            "Home study: the share of the recordings an attendee must have watched for credit "
            "(0 when the body asks only for the post-test)."
        ),
    )
    reports_to_ce_broker = models.BooleanField(
        default=False, help_text=_("Florida boards: attendance is reported through CE Broker.")
    )
    license_number_pattern = models.CharField(
        max_length=200,
        blank=True,
        help_text=_(
            "A regular expression a valid license number matches, e.g. ^(SW|MH|MT)\\d{3,6}$"
        ),
    )
    ce_broker_profession_codes = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('Profession name to CE Broker code, e.g. {"LCSW": "1801"}.'),
    )

    panels = [
        FieldRowPanel([FieldPanel("name"), FieldPanel("short_name")]),
        FieldRowPanel([FieldPanel("provider_number"), FieldPanel("is_sample_data")]),
        FieldPanel("approval_statement"),
        FieldRowPanel([FieldPanel("approved_from"), FieldPanel("approved_until")]),
        FieldRowPanel([FieldPanel("jurisdiction"), FieldPanel("professions")]),
        MultiFieldPanel(
            [
                FieldRowPanel([FieldPanel("minutes_per_credit"), FieldPanel("credit_increment")]),
                FieldRowPanel([FieldPanel("credit_basis"), FieldPanel("late_grace_minutes")]),
                FieldRowPanel(
                    [
                        FieldPanel("evaluation_required"),
                        FieldPanel("posttest_required_for_recorded"),
                    ]
                ),
                FieldRowPanel(
                    [FieldPanel("posttest_pass_percent"), FieldPanel("home_study_watched_percent")]
                ),
            ],
            heading=_("Credit rules"),
        ),
        MultiFieldPanel(
            [
                FieldPanel("reports_to_ce_broker"),
                FieldPanel("license_number_pattern"),
                FieldPanel("ce_broker_profession_codes"),
            ],
            heading=_("Board reporting"),
        ),
    ]

    class Meta:
        ordering = ["short_name"]
        verbose_name_plural = _("accrediting bodies")

    def __str__(self):
        return self.short_name or self.name

    def clean(self):
        super().clean()
        if self.license_number_pattern:
            try:
                re.compile(self.license_number_pattern)
            except re.error as error:
                raise ValidationError(
                    {
                        "license_number_pattern": _("Not a valid regular expression: %(error)s.")
                        % {"error": error}
                    }
                ) from error
        if self.approved_from and self.approved_until and self.approved_until < self.approved_from:
            raise ValidationError({"approved_until": _("The approval must end after it starts.")})

    def is_approved_on(self, day):
        if self.approved_from and day < self.approved_from:
            return False
        return not (self.approved_until and day > self.approved_until)

    def license_number_is_valid(self, number):
        number = (number or "").strip()
        if not number:
            return False
        return not self.license_number_pattern or bool(
            re.fullmatch(self.license_number_pattern, number)
        )

    @property
    def credit_policy_text(self):
        """The body's credit rules in words, for staff and attendees, e.g. "APA: credit per
        hour attended, 60-minute hours, rounded down to 0.25 h, 10 minutes' grace per session
        for late arrival and early leave together"."""
        basis = {
            CreditBasis.FULL_PROGRAM: _("credit only for attending the whole program"),
            CreditBasis.PER_SESSION: _("credit per session attended in full"),
            CreditBasis.PER_HOUR: _("credit per hour attended"),
        }.get(self.credit_basis, self.get_credit_basis_display())
        step = Decimal(self.credit_increment or 0)
        grace = self.late_grace_minutes
        parts = [
            basis,
            _("%(minutes)s-minute hours") % {"minutes": self.minutes_per_credit},
            _("rounded down to %(step)s h") % {"step": f"{step.normalize():f}"}
            if step
            else _("not rounded"),
            (
                _("%(grace)s minutes' grace per session for late arrival and early leave together")
                % {"grace": grace}
            )
            if grace
            else _("no grace: every minute missed of a session counts"),
        ]
        return _("%(body)s: %(rules)s") % {"body": self, "rules": ", ".join(str(p) for p in parts)}

    @property
    def provider_number_for_ce_broker(self):
        """CE Broker wants the provider number without its "50-" prefix."""
        number = self.provider_number.strip()
        return number[3:] if number.startswith("50-") else number


class CEOffering(models.Model):
    """CE credit an event offers under one body's approval."""

    event = models.ForeignKey(
        "courses.EventPage", on_delete=models.CASCADE, related_name="ce_offerings"
    )
    body = models.ForeignKey(AccreditingBody, on_delete=models.PROTECT, related_name="offerings")
    hours = models.DecimalField(
        max_digits=5, decimal_places=2, help_text=_("The most credit an attendee can earn.")
    )
    professions = models.CharField(max_length=300, blank=True)
    course_number = models.CharField(
        max_length=60,
        blank=True,
        help_text=_("The body's course or tracking number, e.g. CE Broker's 20-123456."),
    )
    ce_broker_subject_code = models.CharField(
        max_length=30, blank=True, help_text=_("For partial-credit courses reported to CE Broker.")
    )
    home_study_statement = models.TextField(
        blank=True,
        help_text=_(
            "Home study: the body's approval statement for self-paced programs, printed on the "
            "certificate instead of the live one (e.g. “… approved for home study …”)."
        ),
    )

    panels = [
        FieldPanel("event"),
        FieldRowPanel([FieldPanel("body"), FieldPanel("hours")]),
        FieldPanel("professions"),
        FieldRowPanel([FieldPanel("course_number"), FieldPanel("ce_broker_subject_code")]),
        FieldPanel("home_study_statement"),
    ]

    class Meta:
        ordering = ["event", "body__short_name"]
        verbose_name = _("CE offering")
        constraints = [
            models.UniqueConstraint(fields=["event", "body"], name="ce_offering_once_per_body")
        ]

    def __str__(self):
        return _("%(body)s – %(hours)s h – %(event)s") % {
            "body": self.body,
            "hours": self.hours,
            "event": self.event.title,
        }

    def clean(self):
        super().clean()
        body = self.body if self.body_id else None
        step = body.credit_increment if body else None
        if step and self.hours is not None and self.hours % step:
            raise ValidationError(
                {
                    "hours": _(
                        "%(body)s gives credit in steps of %(step)s hours: %(hours)s is not a "
                        "multiple of %(step)s. Enter %(lower)s (or the next step up if the "
                        "program is that long)."
                    )
                    % {
                        "body": body,
                        "step": step,
                        "hours": self.hours,
                        "lower": (self.hours // step) * step,
                    }
                }
            )

    @property
    def course_number_for_ce_broker(self):
        """CE Broker wants the course number without its "20-" prefix."""
        number = self.course_number.strip()
        return number[3:] if number.startswith("20-") else number


class EventCESettings(models.Model):
    """How CE is handled for one event beyond its offerings."""

    event = models.OneToOneField(
        "courses.EventPage", on_delete=models.CASCADE, related_name="ce_settings"
    )
    auto_issue_on_evaluation = models.BooleanField(
        default=False,
        help_text=_(
            "Issue the certificate as soon as an eligible attendee submits the evaluation."
        ),
    )
    evaluation_opens_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("Empty: the evaluation opens when the last session starts."),
    )
    is_recorded = models.BooleanField(
        default=False, help_text=_("Home study from a recording rather than a live program.")
    )
    post_test = models.ForeignKey(
        "trainers.QuestionBank",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_(
            "Home study: the question bank of the post-test (its pass mark and number of "
            "attempts apply)."
        ),
    )
    post_test_wait_hours = models.PositiveIntegerField(
        default=24, help_text=_("Home study: hours an attendee waits after a failed attempt.")
    )

    panels = [
        FieldPanel("event"),
        FieldPanel("auto_issue_on_evaluation"),
        FieldPanel("evaluation_opens_at"),
        FieldPanel("is_recorded"),
        FieldRowPanel([FieldPanel("post_test"), FieldPanel("post_test_wait_hours")]),
    ]

    class Meta:
        verbose_name = _("event CE settings")
        verbose_name_plural = _("event CE settings")

    def __str__(self):
        return _("CE settings for %(event)s") % {"event": self.event.title}

    def evaluation_is_open(self, now=None):
        now = now or timezone.now()
        opens = self.evaluation_opens_at
        if opens is None:
            last = self.event.sessions.order_by("-start").first()
            opens = last.start if last else None
        return opens is None or now >= opens
