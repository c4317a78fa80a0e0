"""Demo content for trainer certification: the two designations the newsletter describes.

"Certified Trainer" follows the Training of Trainers conference: an exemplary demonstration of
training expertise by video, and conceptual and practical understanding of PCOMS at both the
practitioner and the agency level. "FIT Supervisor" starts with the FIT Supervision training.
Running it again changes nothing.
"""

from django.db import transaction

from courses.models import Programme

from .demo_directory import ensure_certified_trainers
from .models import (
    Choice,
    Question,
    QuestionBank,
    Requirement,
    Rubric,
    RubricCriterion,
    RubricLevel,
    Track,
)

LEVELS = [
    ("Not yet", 0, "Not shown, or shown in a way that would mislead trainees."),
    ("Developing", 1, "Present but incomplete or unclear."),
    ("Proficient", 2, "Clear and correct; trainees could follow it."),
    ("Exemplary", 3, "A model other trainers could learn from."),
]

PCOMS_QUESTIONS = [
    (
        "single",
        "When in a session is the Outcome Rating Scale (ORS) given?",
        [("At the start, before the work of the session", True), ("At the end", False)],
    ),
    (
        "single",
        "When in a session is the Session Rating Scale (SRS) given?",
        [("Near the end, about the session just held", True), ("At intake only", False)],
    ),
    (
        "single",
        "What does the Session Rating Scale ask the client about?",
        [
            ("The therapeutic alliance: relationship, goals and topics, approach, overall", True),
            ("Symptoms over the past week", False),
            ("Satisfaction with the agency's waiting room", False),
        ],
    ),
    (
        "multiple",
        "Which areas of life does the ORS ask about? Select all that apply.",
        [
            ("Individually (personal well-being)", True),
            ("Interpersonally (family, close relationships)", True),
            ("Socially (work, school, friendships)", True),
            ("Income bracket", False),
        ],
    ),
    (
        "single",
        "A client's ORS score has not improved after several sessions. What does PCOMS suggest?",
        [
            ("Discuss it openly with the client and consider changing the approach", True),
            ("Keep going unchanged; scores always improve eventually", False),
            ("Stop giving the ORS so the client is not discouraged", False),
        ],
    ),
    (
        "multiple",
        "What helps an agency implement PCOMS well? Select all that apply.",
        [
            ("Supervision that uses the clients' feedback data", True),
            ("Leadership that supports using feedback", True),
            ("Using the scores to discipline individual clinicians", False),
            ("Training and ongoing support for staff", True),
        ],
    ),
    (
        "single",
        "Why ask for feedback on the alliance even when the client seems satisfied?",
        [
            ("Clients often hold back concerns; inviting criticism early prevents dropout", True),
            ("Because the form must be filled in for billing", False),
        ],
    ),
    (
        "single",
        "What is the main purpose of plotting session-by-session ORS scores?",
        [
            ("To see early whether the client is benefiting, so the work can be adjusted", True),
            ("To rank clients against each other", False),
        ],
    ),
]

SUPERVISION_QUESTIONS = [
    "Describe how you would use a clinician's outcome data in a supervision session, "
    "including one case that is not improving.",
    "What differentiates FIT supervision from conventional supervision? Give an example.",
    "How would you identify and address an 'at risk' case with a supervisee?",
]


def _programme(name, slug):
    programme = (
        Programme.objects.filter(name=name).first() or Programme.objects.filter(slug=slug).first()
    )
    if programme is None:
        programme = Programme.objects.create(name=name, slug=slug)
    return programme


def _rubric(track, threshold, guidance, criteria):
    rubric, _ = Rubric.objects.get_or_create(
        track=track, defaults={"pass_threshold": threshold, "guidance": guidance}
    )
    if rubric.criteria.exists():
        return rubric
    for order, (title, description, required) in enumerate(criteria):
        criterion = RubricCriterion.objects.create(
            rubric=rubric,
            title=title,
            description=description,
            required=required,
            minimum_points=2 if required else 0,
            sort_order=order,
        )
        for label, points, text in LEVELS:
            RubricLevel.objects.create(
                criterion=criterion, label=label, points=points, description=text
            )
    return rubric


def _choice_bank():
    bank, created = QuestionBank.objects.get_or_create(
        title="PCOMS knowledge assessment",
        defaults={
            "mode": QuestionBank.Mode.CHOICE,
            "instructions": "Eight questions on PCOMS in practice and in agencies. "
            "Questions and answers appear in a different order each attempt.",
            "pass_mark_percent": 75,
            "attempt_limit": 3,
            "randomise_order": True,
        },
    )
    if created:
        for order, (kind, text, choices) in enumerate(PCOMS_QUESTIONS):
            question = Question.objects.create(bank=bank, kind=kind, text=text, sort_order=order)
            for choice_text, correct in choices:
                Choice.objects.create(question=question, text=choice_text, is_correct=correct)
    return bank


def _written_bank():
    bank, created = QuestionBank.objects.get_or_create(
        title="FIT supervision written questions",
        defaults={
            "mode": QuestionBank.Mode.WRITTEN,
            "instructions": "Answer in your own words; a certification reviewer grades them.",
            "pass_mark_percent": 70,
            "attempt_limit": 2,
            "randomise_order": False,
        },
    )
    if created:
        for order, text in enumerate(SUPERVISION_QUESTIONS):
            Question.objects.create(
                bank=bank, kind=Question.Kind.WRITTEN, text=text, sort_order=order
            )
    return bank


def _requirements(track, items):
    if track.requirements.exists():
        return
    for order, fields in enumerate(items):
        Requirement.objects.create(track=track, sort_order=order, **fields)


@transaction.atomic
def load_demo_content(stdout):
    trainer, _ = Track.objects.get_or_create(
        slug="certified-trainer",
        defaults={
            "name": "Certified Trainer",
            "credential_title": "Project Certified Trainer",
            "description": "For people who train others in PCOMS: the Training of Trainers "
            "conference, an exemplary demonstration of training expertise by video, and "
            "understanding of PCOMS at both practitioner and agency level.",
            "max_duration_seconds": 45 * 60,
            "video_retention_days": 180,
            "credential_valid_months": 36,
        },
    )
    _requirements(
        trainer,
        [
            {
                "kind": Requirement.Kind.ATTENDANCE,
                "title": "Attend the Training of Trainers conference",
                "programme": _programme("Training of Trainers", "training-of-trainers"),
                "description": "Attendance is taken from the conference's check-in records.",
            },
            {
                "kind": Requirement.Kind.VIDEO,
                "title": "Demonstration of training expertise (video)",
                "description": "Up to 45 minutes of you training a group in PCOMS, unedited. "
                "Everyone recognisable must have agreed, or be role-playing.",
                "due_days": 365,
            },
            {
                "kind": Requirement.Kind.ASSESSMENT,
                "title": "PCOMS knowledge assessment",
                "question_bank": _choice_bank(),
            },
            {
                "kind": Requirement.Kind.EVIDENCE,
                "title": "Agency-level understanding",
                "description": "Describe an agency implementation of PCOMS you led or supported: "
                "the setting, what you did, what the outcome data showed, what you would change.",
            },
        ],
    )
    _rubric(
        trainer,
        10,
        "Score what the video shows, not what the candidate says they would do.",
        [
            (
                "Explains the ORS and SRS accurately",
                "Purpose, administration and scoring are correct.",
                True,
            ),
            (
                "Demonstrates collecting and discussing feedback",
                "Models inviting honest feedback, including criticism.",
                True,
            ),
            ("Uses outcome data to guide decisions", "Shows how graphs inform the work.", False),
            ("Teaching presence", "Clear structure, engages the group, checks learning.", False),
            (
                "Addresses implementation in agencies",
                "Links practice to supervision and organisational support.",
                False,
            ),
        ],
    )

    supervisor, _ = Track.objects.get_or_create(
        slug="fit-supervisor",
        defaults={
            "name": "FIT Supervisor",
            "credential_title": "ICCE Recognised FIT Supervisor",
            "description": "The FIT Supervision training is the first step; then a recorded "
            "supervision session, written answers and a supervision log.",
            "max_duration_seconds": 60 * 60,
            "video_retention_days": 180,
            "credential_valid_months": 24,
        },
    )
    _requirements(
        supervisor,
        [
            {
                "kind": Requirement.Kind.ATTENDANCE,
                "title": "Attend FIT Supervision training",
                "programme": _programme("FIT Supervision", "fit-supervision"),
            },
            {
                "kind": Requirement.Kind.VIDEO,
                "title": "Recorded FIT supervision session",
                "description": "A supervision session in which you use a supervisee's outcome "
                "data. Clients must not be identifiable.",
            },
            {
                "kind": Requirement.Kind.ASSESSMENT,
                "title": "Written questions on FIT supervision",
                "question_bank": _written_bank(),
            },
            {
                "kind": Requirement.Kind.EVIDENCE,
                "title": "Supervision log",
                "description": "Six months of FIT supervision: cases, decisions and outcomes.",
            },
        ],
    )
    _rubric(
        supervisor,
        8,
        "Look for supervision guided by client feedback rather than by the case narrative.",
        [
            ("Uses the supervisee's outcome data", "Starts from the data, not the story.", True),
            ("Identifies at-risk cases", "Spots cases not improving and plans a change.", True),
            ("Builds the supervisee's skill", "Leaves the supervisee able to act.", False),
            ("Alliance with the supervisee", "Invites and uses feedback on supervision.", False),
        ],
    )
    stdout.write("  Tracks: Certified Trainer, FIT Supervisor (requirements, rubrics, questions)")
    ensure_certified_trainers(stdout)
