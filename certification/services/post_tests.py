"""The post-test of a home-study course: attempts in the attendee's own order, marked at once.

The questions come from a trainer-assessment question bank (single and multiple choice) chosen
on the event's CE settings; the bank sets the pass mark, the number of attempts and whether
the order is shuffled, the settings set the wait after a failed attempt. Every attempt is kept
(order shown, answers, score, the pass mark at the time) so an auditor sees what was taken.

It follows `certification.trainers.services.assessments` (start_attempt / submit_attempt) on
purpose, without importing it: that one belongs to certification tracks and marks written
answers too; a post-test has only choice questions.
"""

import random
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from wagtail.models import Site

from cms import audit
from cms.dates import long_datetime
from cms.locking import lock_one
from cms.models import SiteSettings
from courses.models import Registration, RegistrationStatus

from ..models import EventCESettings, PostTestAttempt
from ..trainers.models import Question
from .common import CEError

CHOICE_KINDS = (Question.Kind.SINGLE, Question.Kind.MULTIPLE)


@dataclass
class PostTestStanding:
    """Where an attendee stands with a post-test: what the page shows and `start` checks."""

    registration: object
    bank: object = None
    attempts: list = field(default_factory=list)
    open_attempt: object = None
    passed_attempt: object = None
    next_try_at: object = None
    refusal: str = ""
    pass_percent: int = 0

    @property
    def has_post_test(self):
        return self.bank is not None

    @property
    def attempts_used(self):
        return len(self.attempts)

    @property
    def attempt_limit(self):
        return self.bank.attempt_limit if self.bank else 0

    @property
    def can_start(self):
        return self.has_post_test and not self.refusal and self.open_attempt is None


def _bank_of(event):
    """The event's post-test bank and CE settings; no bank unless the event is home study
    (a live event's post-test bank, left over from a copy, is not asked of anyone)."""
    settings = EventCESettings.objects.select_related("post_test").filter(event=event).first()
    if settings is None or not settings.is_recorded or settings.post_test is None:
        return None, settings
    return settings.post_test, settings


def pass_percent_for(event, bank):
    """The pass mark that applies: the course's own (its bank's), but never below the strictest
    pass mark of an accrediting body whose credit the event offers, since a certificate under
    that body would otherwise rest on a score the body does not accept."""
    strictest = max(
        (o.body.posttest_pass_percent for o in event.ce_offerings.select_related("body")),
        default=0,
    )
    return max(bank.pass_mark_percent, strictest)


def _contact_line():
    site = Site.objects.filter(is_default_site=True).first()
    contact = SiteSettings.for_site(site).contact_email if site else ""
    if contact:
        return _("Contact %(email)s to ask about another try.") % {"email": contact}
    return _("Contact the CE administrator to ask about another try.")


def when_in_event_zone(event, moment):
    """A moment as the attendee reads it, in the event's zone, naming the zone."""
    with timezone.override(event.zone):
        return _("%(moment)s (%(zone)s time)") % {
            "moment": long_datetime(moment),
            "zone": event.time_zone,
        }


def post_test_standing(registration, *, now=None):
    """The attempts so far, the open one, when the next try is allowed and, if a new attempt
    cannot start now, why (in words for the attendee)."""
    now = now or timezone.now()
    event = registration.event
    bank, settings = _bank_of(event)
    standing = PostTestStanding(registration=registration, bank=bank)
    if bank is None:
        standing.refusal = _("This course has no post-test.")
        return standing
    standing.pass_percent = pass_percent_for(event, bank)
    standing.attempts = list(
        PostTestAttempt.objects.filter(registration=registration).order_by("number")
    )
    for attempt in standing.attempts:
        if attempt.status == PostTestAttempt.Status.IN_PROGRESS:
            standing.open_attempt = attempt
        elif attempt.status == PostTestAttempt.Status.PASSED and standing.passed_attempt is None:
            standing.passed_attempt = attempt
    standing.refusal = _refusal(standing, settings, now)
    return standing


def _seat_refusal(registration):
    """Why this seat may not take the post-test, in words; "" when it may."""
    if registration.status == RegistrationStatus.CANCELLED:
        # Cancelled or refunded: access ends, a certificate already earned stays.
        return _(
            "This registration was cancelled (or refunded), so its post-test is no longer "
            "available. A certificate already issued stays valid in My CE."
        )
    if registration.status != RegistrationStatus.CONFIRMED:
        return _("The post-test opens once your registration is confirmed.")
    return ""


def _refusal(standing, settings, now):
    registration = standing.registration
    if seat_refusal := _seat_refusal(registration):
        return seat_refusal
    if not standing.bank.questions.filter(kind__in=CHOICE_KINDS).exists():
        return _("This post-test is not ready yet. Please check back later.")
    if standing.passed_attempt is not None:
        return _("You have already passed this post-test.")
    if standing.open_attempt is not None:
        return ""
    used, limit = standing.attempts_used, standing.attempt_limit
    if used >= limit:
        return (
            ngettext(
                "You have used your %(limit)s attempt.",
                "You have used all %(limit)s attempts.",
                limit,
            )
            % {"limit": limit}
            + " "
            + _contact_line()
        )
    last = standing.attempts[-1] if standing.attempts else None
    if last is not None and last.submitted_at is not None:
        standing.next_try_at = last.submitted_at + timedelta(hours=settings.post_test_wait_hours)
        if now < standing.next_try_at:
            return _("You can try again on %(when)s.") % {
                "when": when_in_event_zone(registration.event, standing.next_try_at)
            }
    return ""


@transaction.atomic
def start_post_test(registration, *, actor, now=None):
    """Begin (or continue) an attempt, its questions and choices in this attempt's own order.

    Raises CEError with the reason when no attempt may start: not the attendee, not confirmed,
    no post-test, already passed, attempts used up (whom to contact), or still waiting (when).
    """
    now = now or timezone.now()
    if actor is None or registration.attendee_id != actor.pk:
        raise CEError(_("Only the attendee of this seat can take its post-test."))
    # One start at a time per seat: two presses find the first press's attempt.
    registration = lock_one(Registration.objects.select_related("event"), registration.pk)
    standing = post_test_standing(registration, now=now)
    if standing.refusal:
        raise CEError(standing.refusal)
    if standing.open_attempt is not None:
        return standing.open_attempt
    bank = standing.bank
    questions = list(bank.questions.filter(kind__in=CHOICE_KINDS).prefetch_related("choices"))
    rng = random.SystemRandom()
    if bank.randomise_order:
        rng.shuffle(questions)
    choice_order = {}
    for question in questions:
        ids = [choice.pk for choice in question.choices.all()]
        if bank.randomise_order:
            rng.shuffle(ids)
        choice_order[str(question.pk)] = ids
    number = (
        PostTestAttempt.objects.filter(registration=registration).aggregate(n=Max("number"))["n"]
        or 0
    ) + 1
    attempt = PostTestAttempt.objects.create(
        registration=registration,
        bank=bank,
        number=number,
        question_order=[question.pk for question in questions],
        choice_order=choice_order,
        pass_percent=standing.pass_percent,
        started_at=now,
    )
    audit.record(
        "certification.post_test.started",
        attempt,
        actor=actor,
        after={"number": number, "question_order": attempt.question_order},
    )
    return attempt


def _chosen_ids(given):
    """The choice ids in a submitted answer, as integers; anything else is dropped."""
    if given is None:
        return []
    if isinstance(given, (str, int)):
        given = [given]
    return sorted({int(value) for value in given if str(value).strip().isdigit()})


def _is_right(question, chosen):
    """Right only when exactly the correct choices were picked (a forged id makes it wrong)."""
    return chosen == sorted(c.pk for c in question.choices.all() if c.is_correct)


@transaction.atomic
def submit_post_test(attempt, *, actor, answers, now=None):
    """Mark an attempt: every question answered, else CEError saying how many are left.

    `answers`: {question_id: [choice_id, ...]} (keys as text or numbers).
    """
    now = now or timezone.now()
    attempt = lock_one(PostTestAttempt.objects.select_related("registration"), attempt.pk)
    if actor is None or attempt.registration.attendee_id != actor.pk:
        raise CEError(_("This is not your post-test."))
    if attempt.status != PostTestAttempt.Status.IN_PROGRESS:
        raise CEError(_("This attempt has already been submitted."))
    if seat_refusal := _seat_refusal(attempt.registration):
        raise CEError(seat_refusal)
    questions = {q.pk: q for q in attempt.bank.questions.prefetch_related("choices")}
    stored, unanswered, right, marked = {}, 0, 0, 0
    for qid in attempt.question_order:
        question = questions.get(qid)
        if question is None:
            continue  # removed from the bank since: not counted either way
        chosen = _chosen_ids(answers.get(str(qid), answers.get(qid)))
        if not chosen:
            unanswered += 1
        stored[str(qid)] = chosen
        marked += 1
        right += _is_right(question, chosen)
    if unanswered:
        raise CEError(
            ngettext(
                "Answer every question (%(count)s question is left unanswered).",
                "Answer every question (%(count)s questions are left unanswered).",
                unanswered,
            )
            % {"count": unanswered}
        )
    before = {"status": attempt.status}
    attempt.answers = stored
    attempt.submitted_at = now
    attempt.score_percent = round(100 * right / max(marked, 1))
    attempt.status = (
        PostTestAttempt.Status.PASSED
        if attempt.score_percent >= attempt.pass_percent
        else PostTestAttempt.Status.FAILED
    )
    assert attempt.status in PostTestAttempt.TRANSITIONS[PostTestAttempt.Status.IN_PROGRESS]
    attempt.save()
    audit.record(
        "certification.post_test.submitted",
        attempt,
        actor=actor,
        before=before,
        after={
            "status": attempt.status,
            "score_percent": attempt.score_percent,
            "pass_percent": attempt.pass_percent,
            "answers": stored,
        },
    )
    return attempt


def passed_post_test_on(registration):
    """The date the seat's first passing attempt was submitted (in the event's zone), or None.

    For the credit rules: a home-study course's CE waits for its post-test.
    """
    attempt = (
        PostTestAttempt.objects.filter(
            registration=registration, status=PostTestAttempt.Status.PASSED
        )
        .order_by("submitted_at", "number")
        .first()
    )
    if attempt is None or attempt.submitted_at is None:
        return None
    return timezone.localtime(attempt.submitted_at, registration.event.zone).date()


# -- what the pages show ----------------------------------------------------------------------


@dataclass
class ShownQuestion:
    question: object
    choices: list
    chosen: list = field(default_factory=list)

    @property
    def is_multiple(self):
        return self.question.kind == Question.Kind.MULTIPLE

    @property
    def is_right(self):
        return _is_right(self.question, sorted(self.chosen))

    @property
    def chosen_choices(self):
        return [c for c in self.choices if c.pk in self.chosen]

    @property
    def correct_choices(self):
        return [c for c in self.choices if c.is_correct]


def attempt_questions(attempt):
    """The attempt's questions and choices in the order this attempt showed them, with the
    answer given (for the feedback after a pass)."""
    questions = {q.pk: q for q in attempt.bank.questions.prefetch_related("choices")}
    shown = []
    for qid in attempt.question_order:
        question = questions.get(qid)
        if question is None:
            continue
        by_id = {c.pk: c for c in question.choices.all()}
        order = attempt.choice_order.get(str(qid), list(by_id))
        choices = [by_id[cid] for cid in order if cid in by_id]
        choices += [c for cid, c in by_id.items() if cid not in order]  # added since
        shown.append(
            ShownQuestion(
                question=question,
                choices=choices,
                chosen=list(attempt.answers.get(str(qid), [])),
            )
        )
    return shown
