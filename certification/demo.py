"""Demo CE content: approvals with SAMPLE provider numbers, offerings and evaluation questions
for the Training of Trainers Conference, and attendance, evaluations and issued certificates
for its past edition. `load_demo` calls this after the courses demo; running it twice changes
nothing.
"""

import io
from datetime import timedelta
from decimal import Decimal

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from courses import attendance
from courses.models import EventFormat, EventPage, RegistrationStatus

from . import services
from .models import (
    AccreditingBody,
    CEOffering,
    CESponsor,
    CreditBasis,
    EvaluationQuestion,
    EvaluationResponse,
    EventCESettings,
    QuestionKind,
)
from .trainers.models import Choice, Question, QuestionBank

SAMPLE_NOTE = "[SAMPLE DATA – not a real approval] "

BODIES = [
    {
        "short_name": "APA",
        "name": "American Psychological Association",
        "provider_number": "SAMPLE-APA-0000",
        "professions": "Psychologists",
        "approval_statement": SAMPLE_NOTE
        + "The Heart and Soul of Change Project is approved by the American Psychological "
        "Association to sponsor continuing education for psychologists. The Heart and Soul of "
        "Change Project maintains responsibility for this program and its content.",
        "minutes_per_credit": 60,
        "credit_basis": CreditBasis.PER_SESSION,
    },
    {
        "short_name": "NBCC",
        "name": "National Board for Certified Counselors",
        "provider_number": "SAMPLE-NBCC-0000",
        "professions": "Counselors",
        "approval_statement": SAMPLE_NOTE
        + "The Heart and Soul of Change Project has been approved by NBCC as an Approved "
        "Continuing Education Provider, ACEP No. SAMPLE-NBCC-0000. Programs that do not qualify "
        "for NBCC credit are clearly identified.",
        "minutes_per_credit": 60,
        "credit_basis": CreditBasis.PER_SESSION,
    },
    {
        "short_name": "FL 491",
        "name": "Florida Board of Clinical Social Work, Marriage & Family Therapy and Mental "
        "Health Counseling",
        "provider_number": "50-SAMPLE",
        "jurisdiction": "FL",
        "professions": "LCSW, LMFT, LMHC and registered interns",
        "approval_statement": SAMPLE_NOTE
        + "Approved provider of continuing education for Florida's Board of Clinical Social "
        "Work, Marriage & Family Therapy and Mental Health Counseling, provider 50-SAMPLE.",
        "minutes_per_credit": 50,
        "credit_basis": CreditBasis.PER_SESSION,
        "reports_to_ce_broker": True,
        "license_number_pattern": r"^(SW|MH|MT|ISW|IMH|IMT)\d{3,7}$",
        "ce_broker_profession_codes": {
            "Licensed clinical social worker": "1801",
            "Marriage and family therapist": "1802",
            "Mental health counselor": "1803",
        },
    },
    {
        "short_name": "FL PSY",
        "name": "Florida Board of Psychology",
        "provider_number": "50-SAMPLE-PSY",
        "jurisdiction": "FL",
        "professions": "Psychologists",
        "approval_statement": SAMPLE_NOTE
        + "Approved provider of continuing education for the Florida Board of Psychology, "
        "provider 50-SAMPLE-PSY. Credit is given only for attendance of the whole program.",
        "minutes_per_credit": 60,
        "credit_basis": CreditBasis.FULL_PROGRAM,
        "reports_to_ce_broker": True,
        "license_number_pattern": r"^PY\d{3,7}$",
        "ce_broker_profession_codes": {"Psychologist": "2001"},
    },
]

QUESTIONS = [
    (QuestionKind.RATING, "Overall, how would you rate this program?", True),
    (QuestionKind.OBJECTIVE, "Learning objective: administer and score the ORS and SRS.", True),
    (QuestionKind.OBJECTIVE, "Learning objective: train others to implement PCOMS.", True),
    (QuestionKind.RATING, "How well did the presenter teach the material?", True),
    (QuestionKind.TEXT, "What would you change about this program?", False),
]

SAMPLE_ANSWERS = [
    (5, "yes", "yes", 5, "More time for role plays, please."),
    (4, "yes", "partly", 5, ""),
    (5, "yes", "yes", 4, "The agency implementation day was the most useful."),
    (4, "partly", "yes", 4, "A longer lunch break."),
    (5, "yes", "yes", 5, ""),
    (3, "yes", "partly", 4, "The room was too cold."),
]


def _signature_png():
    """A drawn sample signature, so demo certificates show where the real one goes."""
    from PIL import Image, ImageDraw

    image = Image.new("RGBA", (420, 110), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    points = [(10, 80), (40, 20), (60, 85), (90, 30), (110, 75), (150, 40), (175, 70)]
    points += [(210, 35), (240, 80), (270, 45), (310, 70), (350, 40), (400, 60)]
    draw.line(points, fill=(20, 40, 90, 255), width=4, joint="curve")
    draw.text((12, 92), "SAMPLE SIGNATURE", fill=(120, 120, 120, 255))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def ensure_sponsor(stdout):
    sponsor = CESponsor.current()
    if sponsor is None:
        sponsor = CESponsor(
            name="Heart and Soul of Change Project",
            administrator_name="Dana Whitfield, PhD (sample)",
            administrator_title="CE Administrator",
            contact_email="training@example.org",
        )
        sponsor.signature.save("sample-signature.png", ContentFile(_signature_png()), save=False)
        sponsor.save()
        stdout.write("  added the CE sponsor with a sample signature")
    return sponsor


def ensure_bodies(stdout):
    bodies = {}
    for fields in BODIES:
        body, created = AccreditingBody.objects.get_or_create(
            short_name=fields["short_name"], defaults={**fields, "is_sample_data": True}
        )
        bodies[body.short_name] = body
        if created:
            stdout.write(f"  added the approval {body} (SAMPLE provider number)")
    return bodies


TOT_COURSE_NUMBERS = [
    ("APA", "APA-TOT"),
    ("NBCC", "NBCC-TOT"),
    ("FL 491", "20-000001"),
    ("FL PSY", "20-000002"),
]
WEBINAR_COURSE_NUMBERS = [
    ("APA", "APA-WEB"),
    ("NBCC", "NBCC-WEB"),
    ("FL 491", "20-000003"),
    ("FL PSY", "20-000004"),
]

# FIT Supervision sells a $75 CE add-on: it needs offerings, or no certificate could be issued.
# Held in Chicago, it carries the national approvals only (three days of 360 CE minutes).
FIT_COURSE_NUMBERS = [
    ("APA", "APA-FITS"),
    ("NBCC", "NBCC-FITS"),
]
FIT_QUESTIONS = [
    QUESTIONS[0],
    (
        QuestionKind.OBJECTIVE,
        "Learning objective: explain how feedback-informed supervision differs from "
        "conventional supervision.",
        True,
    ),
    (
        QuestionKind.OBJECTIVE,
        "Learning objective: recognise cases at risk of a poor outcome and take them up in "
        "supervision.",
        True,
    ),
    *QUESTIONS[3:],
]


def ensure_offerings(
    event, bodies, *, hours, course_numbers=TOT_COURSE_NUMBERS, questions=QUESTIONS
):
    for short_name, course_number in course_numbers:
        body = bodies[short_name]
        # CE Broker's column I for partial-credit courses (a SAMPLE code, like the numbers).
        subject = "SAMPLE" if body.reports_to_ce_broker else ""
        CEOffering.objects.get_or_create(
            event=event,
            body=body,
            defaults={
                "hours": hours,
                "course_number": course_number,
                "ce_broker_subject_code": subject,
            },
        )
    for order, (kind, prompt, required) in enumerate(questions):
        EvaluationQuestion.objects.get_or_create(
            event=event,
            prompt=prompt,
            defaults={"kind": kind, "required": required, "sort_order": order},
        )


# The course is evaluated against the webinar's own learning objectives.
HOME_STUDY_QUESTIONS = [
    QUESTIONS[0],
    (
        QuestionKind.OBJECTIVE,
        "Learning objective: summarise where treatment for sexual aggression stands today.",
        True,
    ),
    (
        QuestionKind.OBJECTIVE,
        "Learning objective: use at least two ways of collecting feedback from clients.",
        True,
    ),
    (
        QuestionKind.OBJECTIVE,
        "Learning objective: explain how feedback measures inform case-management decisions.",
        True,
    ),
    *QUESTIONS[3:],
]
# A home-study course has its own course numbers and each body's home-study approval.
HOME_STUDY_COURSE_NUMBERS = [
    ("APA", "APA-WEB-HS"),
    ("NBCC", "NBCC-WEB-HS"),
    ("FL 491", "20-000005"),
    ("FL PSY", "20-000006"),
]
HOME_STUDY_STATEMENTS = {
    "APA": "The Heart and Soul of Change Project is approved by the American Psychological "
    "Association to sponsor continuing education for psychologists, including this home-study "
    "program.",
    "NBCC": "This home-study program has been approved by NBCC for NBCC credit, ACEP No. "
    "SAMPLE-NBCC-0000.",
    "FL 491": "Approved home-study course of Florida's Board of Clinical Social Work, Marriage "
    "& Family Therapy and Mental Health Counseling, provider 50-SAMPLE.",
    "FL PSY": "Approved home-study course of the Florida Board of Psychology, provider "
    "50-SAMPLE-PSY.",
}
POST_TEST_TITLE = "Post-test: Feedback-Informed Treatment with Adults Who Have Sexually Abused"
# From the newsletter's account of the webinar: (kind, question, [(choice, correct)]).
POST_TEST_QUESTIONS = [
    (
        Question.Kind.SINGLE,
        "Besides agencies and systems of care, where are feedback measures such as PCOMS "
        "gaining prominence?",
        [
            ("In the world of criminal justice", True),
            ("Only in private practice", False),
            ("Nowhere outside research studies", False),
        ],
    ),
    (
        Question.Kind.MULTIPLE,
        "According to the webinar, what can feedback measures do in this work? (Select all "
        "that apply.)",
        [
            ("Aid case management decisions", True),
            ("Improve client outcomes", True),
            ("Replace the need to ask clients for feedback", False),
        ],
    ),
    (
        Question.Kind.SINGLE,
        "In feedback-informed treatment, where does the feedback come from?",
        [
            ("From the clients themselves", True),
            ("Only from the client's probation officer", False),
            ("Only from a file review after treatment ends", False),
        ],
    ),
    (
        Question.Kind.SINGLE,
        "Which measures are used in feedback-informed treatment with PCOMS?",
        [
            ("The Outcome Rating Scale and the Session Rating Scale", True),
            ("A single intake questionnaire", False),
            ("The clinician's own rating of progress only", False),
        ],
    ),
]


def ensure_post_test(stdout):
    """The webinar course's post-test: pass with 75%, three attempts."""
    bank = QuestionBank.objects.filter(title=POST_TEST_TITLE).first()
    if bank is not None:
        return bank
    bank = QuestionBank.objects.create(
        title=POST_TEST_TITLE,
        mode=QuestionBank.Mode.CHOICE,
        instructions="Answer every question. You need 75% to pass and have three attempts.",
        pass_mark_percent=75,
        attempt_limit=3,
    )
    for order, (kind, text, choices) in enumerate(POST_TEST_QUESTIONS):
        question = Question.objects.create(bank=bank, kind=kind, text=text, sort_order=order)
        Choice.objects.bulk_create(
            Choice(question=question, text=choice, is_correct=correct)
            for choice, correct in choices
        )
    stdout.write(f"  wrote the post-test “{bank.title}” ({len(POST_TEST_QUESTIONS)} questions)")
    return bank


def ensure_home_study(course, bodies, stdout):
    """The on-demand course's home-study CE: the course numbers and approval statements
    certification leaves for staff when the course is copied, and its post-test."""
    ensure_offerings(
        course,
        bodies,
        hours=Decimal("1.5"),
        course_numbers=HOME_STUDY_COURSE_NUMBERS,
        questions=HOME_STUDY_QUESTIONS,
    )
    numbers = dict(HOME_STUDY_COURSE_NUMBERS)
    for offering in course.ce_offerings.select_related("body"):
        short_name = offering.body.short_name
        if not offering.home_study_statement and short_name in HOME_STUDY_STATEMENTS:
            offering.home_study_statement = SAMPLE_NOTE + HOME_STUDY_STATEMENTS[short_name]
            offering.course_number = offering.course_number or numbers[short_name]
            offering.save(update_fields=["home_study_statement", "course_number"])
    settings, _ = EventCESettings.objects.get_or_create(
        event=course, defaults={"is_recorded": True, "auto_issue_on_evaluation": True}
    )
    if settings.post_test_id is None:
        settings.post_test = ensure_post_test(stdout)
        settings.post_test_wait_hours = 12
        settings.save(update_fields=["post_test", "post_test_wait_hours"])
        stdout.write(f"  set up home-study CE and the post-test for “{course.title}”")


def _training_of_trainers_events():
    events = EventPage.objects.filter(slug__startswith="training-of-trainers-conference")
    now = timezone.now()
    past = [e for e in events if e.ends_at and e.ends_at < now]
    upcoming = [e for e in events if e.ends_at and e.ends_at >= now]
    return past, upcoming


def ensure_past_attendance(event, stdout):
    """Everyone attended; one arrived 45 minutes late on day 3, one left early on day 5."""
    registrations = list(
        event.registrations.filter(status=RegistrationStatus.CONFIRMED).order_by("pk")
    )
    if not registrations or any(r.attendances.exists() for r in registrations):
        return registrations
    sessions = list(event.sessions.order_by("start"))
    for index, registration in enumerate(registrations):
        for number, session in enumerate(sessions, start=1):
            start, end = session.start, None
            if index == len(registrations) - 1 and number == 3:
                start = session.start + timedelta(minutes=45)
            if index == len(registrations) - 2 and number == 5:
                end = session.end - timedelta(minutes=60)
            attendance.record_attendance(
                registration,
                session,
                checked_in_at=start - timedelta(minutes=10) if start == session.start else start,
                checked_out_at=end,
                actor=None,
                note="Demo: from the paper sign-in sheet",
            )
    stdout.write(f"  recorded attendance for {len(registrations)} attendees of “{event.title}”")
    return registrations


def ensure_past_evaluations(event, registrations):
    questions = list(event.evaluation_questions.order_by("sort_order"))
    for registration, answers in zip(registrations, SAMPLE_ANSWERS, strict=False):
        if EvaluationResponse.objects.filter(registration=registration).exists():
            continue
        values = {q.pk: value for q, value in zip(questions, answers, strict=False)}
        services.submit_evaluation(registration, values, actor=registration.attendee)


def ensure_certificates(event, registrations, stdout):
    issued = 0
    for registration in registrations:
        state = services.eligibility(registration)
        if state.is_eligible:
            services.issue_certificate(registration, notify=False)
            issued += 1
    if issued:
        stdout.write(f"  issued {issued} CE certificates for “{event.title}”")


def load_demo_content(stdout):
    with transaction.atomic():
        ensure_sponsor(stdout)
        bodies = ensure_bodies(stdout)
        past, upcoming = _training_of_trainers_events()
        for event in upcoming:
            ensure_offerings(event, bodies, hours=Decimal("27"))
            EventCESettings.objects.get_or_create(
                event=event, defaults={"auto_issue_on_evaluation": True}
            )
        # The webinar page promises 1.5 hours of live interactive CE: without offerings the
        # attendees' CE page would say the event offers none.
        for event in EventPage.objects.filter(
            slug__startswith="feedback-informed-treatment-webinar"
        ).exclude(format=EventFormat.ON_DEMAND):
            ensure_offerings(
                event, bodies, hours=Decimal("1.5"), course_numbers=WEBINAR_COURSE_NUMBERS
            )
            EventCESettings.objects.get_or_create(
                event=event, defaults={"auto_issue_on_evaluation": True}
            )
        for event in EventPage.objects.filter(slug__startswith="fit-supervision-training"):
            ensure_offerings(event, bodies, hours=Decimal("18"), course_numbers=FIT_COURSE_NUMBERS)
            EventCESettings.objects.get_or_create(
                event=event, defaults={"auto_issue_on_evaluation": True}
            )
        for course in EventPage.objects.filter(
            format=EventFormat.ON_DEMAND, slug__startswith="feedback-informed-treatment-webinar"
        ):
            ensure_home_study(course, bodies, stdout)
        for event in past:
            ensure_offerings(event, bodies, hours=Decimal("27"))
            registrations = ensure_past_attendance(event, stdout)
            ensure_past_evaluations(event, registrations)
            ensure_certificates(event, registrations, stdout)
    stdout.write("  CE approvals, attendance and certificates are ready")
