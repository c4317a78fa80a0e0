"""Demo events from the newsletter (seed/newsletter.txt), dated in the coming months, plus one
past conference with confirmed registrations. `load_demo` calls this; running it twice
changes nothing."""

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.files.base import ContentFile
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone
from wagtail.models import Page
from wagtail.rich_text import RichText

from cms.demo import ensure_members_library
from cms.demo_images import demo_image
from cms.models import HomePage
from courses import services
from courses.demo_on_demand import ensure_on_demand_course
from courses.models import (
    AddOn,
    EventFormat,
    EventIndexPage,
    EventPage,
    EventSession,
    Material,
    MembershipPlan,
    ParticipantBenefit,
    Presenter,
    Programme,
    RegistrationQuestion,
    TicketType,
)

MEMBER_GROUP = "Member site subscribers"

TOT_RECEIVES = [
    "Subscription to Member Site (a $120 value)",
    "Barry’s PowerPoint presentations for the whole week including annotated PowerPoint "
    "presentations",
    "Administration and scoring manual of the ORS/SRS (a $39.95 value)",
    "The Second Edition of the PCOMS Manual which covers the whole gamut from clinical "
    "implementation to supervision and agency implementation—Heroic Clients, Heroic Agencies "
    "(a $39.95 value)",
    "Certificate of attendance and 27 hours of Florida CEUs for counselors, social workers, and "
    "MFTs and 27 CEs for psychologists provided by the training institute",
]
TOT_SUMMARY = (
    "An intensive five-day training that gives you all you need to begin training others and "
    "implementing the Partners for Change Outcome Management System (PCOMS). 27 hours of CE."
)
TOT_DESCRIPTION = [
    "The Heart and Soul of Change Project is pleased to announce the annual Training of "
    "Trainers Conference. Come to sunny Florida at the best time to escape the cold arctic "
    "northland! But reserve your place early.",
    "This intensive training experience is designed to give you all that you need in order to "
    "begin training others and implementing the Partners for Change Outcome Management System "
    "(PCOMS). It provides the first step in becoming a Project Certified Trainer. The Project "
    "Certified Trainer designation reflects completion of the Training of Trainers Conference "
    "as well as an exemplary demonstration (via video) of training expertise and a "
    "demonstration of conceptual and practical understanding of PCOMS at both an individual "
    "practitioner and agency level.",
]
FIT_RECEIVES = [
    "Set of ICCE FIT manuals valued at $129 USD",
    "Certificate of attendance",
    "Continuing Education units (available for additional fee)",
    "Access to the process for becoming a recognized ICCE FIT Supervisor",
]
FIT_SUMMARY = (
    "A three-day training that prepares you to supervise clinicians using Feedback-Informed "
    "Treatment (FIT), run by ICCE Director Scott Miller, Ph.D."
)
FIT_DESCRIPTION = [
    "If you are interested in helping clinicians improve their outcomes and get the most out "
    "of client feedback, this three day training event is for you. Through a combination of "
    "didactic presentations, skill building exercises and feedback, FIT Supervision Training "
    "is designed to prepare participants to provide effective supervision to clinicians using "
    "Feedback-Informed Treatment (FIT). It is also the first step for those interested in "
    "becoming an International Center for Clinical Excellence (ICCE) recognized FIT "
    "Supervisor.",
    "Participants will learn: what differentiates FIT supervision from conventional "
    "supervision; how to use client feedback to guide clinical supervision practice and help "
    "clinicians achieve superior outcomes; what the most common challenges are in FIT "
    "supervision and how to overcome them; strategies to identify and address “at risk” cases "
    "in supervision.",
    "ICCE Director, Scott Miller, Ph.D, will run the training. A special guest and co-author of "
    "the ICCE manual FIT Supervision will also be present.",
]
WEBINAR_TITLE = (
    "Improving Outcomes One Client at a Time: Feedback-Informed Treatment with Adults Who Have "
    "Sexually Abused"
)
WEBINAR_SUMMARY = (
    "A live webinar with David Prescott on feedback-informed treatment using PCOMS with adults "
    "who have sexually abused."
)
WEBINAR_DESCRIPTION = [
    "It is now well-known that feedback-informed treatment using PCOMS is being successfully "
    "integrated into agencies and systems of care around the world. But did you know that "
    "these measures are gaining prominence in the world of criminal justice as well?",
    "Join David Prescott, a leading authority on feedback-informed treatment with adults who "
    "have sexually abused, and learn: the current status of treatment for sexual aggression; "
    "strategies for collecting feedback from clients; how feedback measures can aid case "
    "management decisions as well as improve client outcomes.",
]
# Learning objectives (boards require them in CE promotion), from the newsletter's topics.
TOT_OBJECTIVES = (
    "<ul><li>Administer and score the Outcome Rating Scale and Session Rating Scale with "
    "clients.</li><li>Train practitioners to use PCOMS in their own clinical work.</li>"
    "<li>Plan how an agency puts PCOMS into routine practice, from the first sessions to "
    "supervision.</li><li>Describe what the Project Certified Trainer designation asks for, "
    "including the video demonstration of training.</li></ul>"
)
FIT_OBJECTIVES = (
    "<ul><li>Explain how supervision guided by client feedback differs from conventional "
    "supervision.</li><li>Use clients' feedback to choose what to work on in supervision, so "
    "clinicians improve their outcomes.</li><li>Name the challenges supervisors most often "
    "meet with feedback-informed supervision and a way past each.</li><li>Recognise cases at "
    "risk of a poor outcome and plan how to take them up in supervision.</li></ul>"
)
WEBINAR_OBJECTIVES = (
    "<ul><li>Summarise where treatment for sexual aggression stands today.</li><li>Use at "
    "least two ways of collecting feedback from clients in this work.</li><li>Explain how "
    "feedback measures inform case-management decisions as well as client outcomes.</li></ul>"
)
# Fictional past attendees, with names in several scripts (certificates must print them).
DEMO_ATTENDEES = [
    ("Ana Lucía Pérez", "ana.perez@example.org", "Licensed clinical social worker"),
    ("Мария Иванова", "maria.ivanova@example.org", "Psychologist"),
    ("李明", "li.ming@example.org", "Mental health counselor"),
    ("محمد الأحمد", "mohammed.alahmad@example.org", "Marriage and family therapist"),
    ("प्रिया शर्मा", "priya.sharma@example.org", "Psychologist"),
    ("Nguyễn Thị Lan", "lan.nguyen@example.org", "Licensed clinical social worker"),
    ("Søren Ødegård", "soren.odegard@example.org", "Mental health counselor"),
    ("Kwame Mensah", "kwame.mensah@example.org", "Marriage and family therapist"),
]


def _first_weekday_of_month(year, month, weekday):
    day = datetime(year, month, 1)
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _next_month_occurrence(month, now, *, min_days=30):
    """The year in which `month` next comes at least `min_days` from now."""
    year = now.year
    while datetime(year, month, 1, tzinfo=now.tzinfo) < now + timedelta(days=min_days):
        year += 1
    return year


def _paragraphs(texts):
    return [("paragraph", RichText(f"<p>{text}</p>")) for text in texts]


def _sessions(first_day, zone, plan):
    """plan: list of (title, start time, end time, CE minutes), one a day from first_day."""
    sessions = []
    for offset, (title, start, end, ce_minutes) in enumerate(plan):
        day = first_day + timedelta(days=offset)
        sessions.append(
            EventSession(
                title=title,
                start=datetime.combine(day.date(), start, tzinfo=zone),
                end=datetime.combine(day.date(), end, tzinfo=zone),
                ce_minutes=ce_minutes,
            )
        )
    return sessions


def ensure_events_index(stdout):
    index = EventIndexPage.objects.first()
    if index:
        if not index.show_in_menus:
            # Sites loaded before the menu flag was set get the Events link too.
            index.show_in_menus = True
            index.save_revision().publish()
        return index
    home = HomePage.objects.first() or Page.get_first_root_node()
    index = EventIndexPage(
        title="Events",
        slug="events",
        show_in_menus=True,
        intro="<p>Workshops, trainings, conferences and live webinars on Feedback-Informed "
        "Treatment and PCOMS.</p>",
    )
    home.add_child(instance=index)
    index.save_revision().publish()
    stdout.write("  created the events index")
    return index


def ensure_member_area(stdout):
    """The member group and the plan that sells it: members join the group, the members'
    library (`ensure_member_library`) is private to it, and the Training of Trainers includes
    a period of the plan. Returns the plan."""
    group, _ = Group.objects.get_or_create(name=MEMBER_GROUP)
    plan, created = MembershipPlan.objects.get_or_create(
        name="Member site, 1 year",
        defaults={
            "description": (
                "A year of the members' library: the PowerPoint presentations, the ORS/SRS "
                "administration manual, the PCOMS manual and recorded webinars."
            ),
            "price": 12000,
            "months": 12,
            "group": group,
        },
    )
    if created:
        stdout.write("  created the membership plan “Member site, 1 year” ($120.00)")
    return plan


def ensure_member_library(group, tot, stdout):
    """The members' library at /member-site/ (cms.demo), whose join page sells the plan (its
    "Become a member" button) and points to the Training of Trainers Conference, which
    includes a year."""
    how_to_join = (
        "<p>Join on its own for $120 a year, by card (it renews each year until you cancel) "
        "or by invoice for agencies. A year of membership also comes with the "
        f'<a linktype="page" id="{tot.pk}">Training of Trainers Conference</a>: it starts when '
        "your seat is confirmed, after any year you already have.</p>"
    )
    return ensure_members_library(group, how_to_join, stdout)


# Written from what the newsletter says of each presenter, and no more: no degrees or titles
# it does not name.
PRESENTER_BIOS = {
    "Barry Duncan": (
        "<p>Barry Duncan leads the Heart and Soul of Change Project’s Training of Trainers "
        "Conference, a week of intensive training in implementing the Partners for Change "
        "Outcome Management System (PCOMS) with individual practitioners and across agencies. "
        "Participants receive his annotated presentations for the whole week and the PCOMS "
        "manual, <i>Heroic Clients, Heroic Agencies</i>.</p>"
    ),
    "David Prescott": (
        "<p>David Prescott is a leading authority on feedback-informed treatment with adults "
        "who have sexually abused. His webinar covers the current status of treatment for "
        "sexual aggression, strategies for collecting feedback from clients, and how feedback "
        "measures can aid case management decisions as well as improve client outcomes.</p>"
    ),
}


def _presenter(name, credentials=""):
    bio = PRESENTER_BIOS.get(name, "")
    presenter, created = Presenter.objects.get_or_create(
        name=name, defaults={"credentials": credentials, "bio": bio}
    )
    # Databases loaded before the bios were written get them, but a bio staff have
    # written since is never overwritten.
    if not created and bio and not presenter.bio:
        presenter.bio = bio
        presenter.save(update_fields=["bio"])
    return presenter


def _programme(name, slug, description):
    programme, _ = Programme.objects.get_or_create(
        slug=slug, defaults={"name": name, "description": description}
    )
    return programme


def _create_event(index, stdout, *, slug, sessions, tickets, add_ons=(), receives=(), **fields):
    existing = EventPage.objects.filter(slug=slug).first()
    if existing:
        _add_learning_objectives(existing, fields.get("learning_objectives"), stdout)
        return existing, False
    presenters = fields.pop("presenters", [])
    questions = fields.pop("questions", [])
    event = EventPage(slug=slug, **fields)
    event.sessions = sessions
    event.ticket_types = tickets
    event.add_ons = list(add_ons)
    event.benefits = [ParticipantBenefit(text=text) for text in receives]
    event.questions = questions
    index.add_child(instance=event)
    event.presenters.set(presenters)
    event.save_revision().publish()
    event.refresh_from_db()
    stdout.write(f"  created “{event.title}”")
    return event, True


def _add_learning_objectives(event, objectives, stdout):
    """A demo loaded before events had learning objectives gets them, published; an event
    whose objectives staff have written is left alone."""
    if not objectives or event.learning_objectives:
        return
    event.learning_objectives = objectives
    event.save_revision().publish()
    stdout.write(f"  added learning objectives to “{event.title}”")


def _add_picture(event, key, description, stdout):
    """A demo event without a picture gets a drawn one, published; one staff chose is kept."""
    if event.image_id:
        return
    event.image = demo_image(key, title=event.title, description=description, stdout=stdout)
    event.save_revision().publish()
    stdout.write(f"  added a picture to “{event.title}”")


def ensure_training_of_trainers(index, membership_plan, stdout, *, year=None, past=False):
    zone = ZoneInfo("America/New_York")
    now = timezone.now()
    if year is None:
        year = _next_month_occurrence(2, now)
    monday = _first_weekday_of_month(year, 2, 0)
    full_day = (time(9, 0), time(16, 30), 360)
    plan = [(f"Day {n}: PCOMS training of trainers", *full_day) for n in range(1, 5)]
    plan.append(("Day 5: Agency implementation and next steps", time(9, 0), time(12, 30), 180))
    title = "Training of Trainers Conference"
    start = datetime.combine(monday.date(), time(9, 0), tzinfo=zone)
    return _create_event(
        index,
        stdout,
        slug=f"training-of-trainers-conference-{year}",
        title=f"{title} {year}" if past else title,
        format=EventFormat.CONFERENCE,
        programme=_programme(
            "Training of Trainers",
            "training-of-trainers",
            "The first step to becoming a Project Certified Trainer in PCOMS.",
        ),
        summary=TOT_SUMMARY,
        description=_paragraphs(TOT_DESCRIPTION),
        presenters=[_presenter("Barry Duncan")],
        time_zone="America/New_York",
        # The newsletter names the state, not the venue: show the city until staff add it.
        venue_name="",
        venue_address="Sarasota, Florida, USA",
        capacity=40,
        included_membership=membership_plan,
        ce_summary="<p>27 hours of Florida CEUs for counselors, social workers, and MFTs and "
        "27 CEs for psychologists provided by the training institute.</p>",
        learning_objectives=TOT_OBJECTIVES,
        sessions=_sessions(monday, zone, plan),
        tickets=[
            TicketType(
                name="Conference registration",
                price=129500,
                early_bird_price=109500,
                early_bird_until=start - timedelta(days=45),
                member_price=TOT_MEMBER_PRICE,
                max_per_order=10,
            ),
            TicketType(
                name="Student rate",
                description="For full-time graduate students; use the code from your program.",
                price=64500,
                access_code="STUDENT",
                capacity=5,
                max_per_order=1,
            ),
        ],
        add_ons=[AddOn(name="Extra printed PCOMS manual", price=3995)],
        receives=TOT_RECEIVES,
        questions=[RegistrationQuestion(label="Which agency do you work for?", required=False)],
    )


# Members of the member site pay about 19% less than the standard price, and less than the
# early-bird price too, so the demo shows the member price whenever it is visited.
TOT_MEMBER_PRICE = 105000


def ensure_member_price(event, stdout):
    """A demo loaded before member prices gets the conference's, published; a ticket whose
    member price staff have set is left alone."""
    ticket = event.ticket_types.filter(name="Conference registration").first()
    if ticket is None or ticket.member_price is not None or ticket.price <= TOT_MEMBER_PRICE:
        return
    ticket.member_price = TOT_MEMBER_PRICE
    ticket.save(update_fields=["member_price"])
    # Publish a revision with it, so the next edit in Wagtail starts from the member price.
    event.refresh_from_db()
    event.save_revision().publish()
    stdout.write(f"  added a member price to “{event.title}”")


def ensure_fit_supervision(index, stdout):
    zone = ZoneInfo("America/Chicago")
    year = _next_month_occurrence(3, timezone.now())
    third_monday = _first_weekday_of_month(year, 3, 0) + timedelta(days=14)
    plan = [
        ("Day 1: What makes FIT supervision different", time(9, 0), time(16, 30), 360),
        ("Day 2: Using client feedback in supervision", time(9, 0), time(16, 30), 360),
        ("Day 3: At-risk cases and common challenges", time(9, 0), time(16, 30), 360),
    ]
    return _create_event(
        index,
        stdout,
        slug=f"fit-supervision-training-{year}",
        title="FIT Supervision Training",
        format=EventFormat.TRAINING,
        programme=_programme(
            "FIT Supervision",
            "fit-supervision",
            "The first step to becoming an ICCE recognized FIT Supervisor.",
        ),
        summary=FIT_SUMMARY,
        description=_paragraphs(FIT_DESCRIPTION),
        presenters=[_presenter("Scott Miller", "Ph.D.")],
        time_zone="America/Chicago",
        venue_name="",
        venue_address="Chicago, Illinois, USA",
        capacity=30,
        ce_summary="<p>Continuing education units are available for an additional fee: "
        "choose the CE add-on when you register.</p>",
        learning_objectives=FIT_OBJECTIVES,
        sessions=_sessions(third_monday, zone, plan),
        tickets=[TicketType(name="Training registration", price=89500, max_per_order=10)],
        add_ons=[
            AddOn(
                name="Continuing education units",
                description="18 CE hours; certificate after the evaluation.",
                price=7500,
                grants_ce=True,
            )
        ],
        receives=FIT_RECEIVES,
    )


def ensure_webinar(index, stdout, *, year=None, past=False):
    """The December webinar of `year` (by default the next one to come); a past edition's
    title says its year, as the past conference's does."""
    zone = ZoneInfo("America/New_York")
    now = timezone.now()
    if year is None:
        year = now.year if now < datetime(now.year, 12, 8, tzinfo=zone) else now.year + 1
    day = datetime(year, 12, 9)
    return _create_event(
        index,
        stdout,
        slug=f"feedback-informed-treatment-webinar-{year}",
        title=f"{WEBINAR_TITLE} ({year})" if past else WEBINAR_TITLE,
        format=EventFormat.WEBINAR,
        summary=WEBINAR_SUMMARY,
        description=_paragraphs(WEBINAR_DESCRIPTION),
        presenters=[_presenter("David Prescott")],
        time_zone="America/New_York",
        join_url="https://webinar.example.org/j/fit-prescott",
        online_details="Join from a computer with speakers or headphones; you can ask questions "
        "in the chat during the live session.",
        join_link_visible_minutes_before=60,
        capacity=500,
        ce_summary="<p>1.5 hours of live interactive CE.</p>",
        learning_objectives=WEBINAR_OBJECTIVES,
        sessions=_sessions(day, zone, [("Live webinar", time(12, 0), time(13, 30), 90)]),
        tickets=[TicketType(name="Free registration", price=0, max_per_order=1)],
    )


def ensure_past_registrations(event, stdout):
    """Confirmed seats for the demo attendees, registered while registration was open."""
    if event.registrations.exists():
        return
    User = get_user_model()
    ticket = event.ticket_types.order_by("pk").first()
    back_then = event.starts_at - timedelta(days=60)
    # The attendees are fictional: their confirmation emails go nowhere.
    with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
        for number, (name, email, profession) in enumerate(DEMO_ATTENDEES, start=1):
            user = User.objects.filter(email__iexact=email).first()
            if user is None:
                user = User(email=email, legal_name=name, profession=profession)
                user.set_unusable_password()
                user.save()
            booking = services.place_hold(
                event=event,
                purchaser=user,
                tickets={ticket.pk: 1},
                attendees=[
                    {
                        "attendee_name": name,
                        "attendee_email": email,
                        "profession": profession,
                        "license_number": f"SW{number:05d}",
                        "license_jurisdiction": "FL",
                        "wants_ce": True,
                    }
                ],
                now=back_then,
            )
            services.confirm_registrations(booking, now=back_then + timedelta(minutes=5))
    stdout.write(f"  registered {len(DEMO_ATTENDEES)} demo attendees for “{event.title}”")


def ensure_materials(event, stdout):
    if event.materials.exists():
        return
    Material.objects.create(
        event=event,
        title="Pre-conference reading list",
        kind="handout",
        file=ContentFile(
            b"Pre-conference reading for the Training of Trainers Conference\n\n"
            b"1. Administration and scoring manual of the ORS/SRS.\n"
            b"2. The PCOMS Manual, second edition: Heroic Clients, Heroic Agencies.\n",
            name="reading-list.txt",
        ),
    )
    stdout.write(f"  attached a reading list to “{event.title}”")


def _last_webinar_year():
    """The year of the last December webinar that is over (it ends on 9 December)."""
    now = timezone.now()
    over = now >= datetime(now.year, 12, 10, tzinfo=ZoneInfo("America/New_York"))
    return now.year if over else now.year - 1


def load_demo_content(stdout):
    with transaction.atomic():
        index = ensure_events_index(stdout)
        plan = ensure_member_area(stdout)
        tot, _ = ensure_training_of_trainers(index, plan, stdout)
        ensure_member_price(tot, stdout)
        ensure_member_library(plan.group, tot, stdout)
        ensure_materials(tot, stdout)
        supervision, _ = ensure_fit_supervision(index, stdout)
        webinar, _ = ensure_webinar(index, stdout)
        for event, key, description in [
            (tot, "conference", "Soft white and gold circles on a deep blue-to-teal gradient."),
            (
                supervision,
                "supervision",
                "Pale gold and white circles on a slate-to-green gradient.",
            ),
            (webinar, "webinar", "Warm sand and coral circles on a dusk-blue-to-sage gradient."),
        ]:
            _add_picture(event, key, description, stdout)
        past_year = _next_month_occurrence(2, timezone.now()) - 1
        if datetime(past_year, 2, 28, tzinfo=ZoneInfo("UTC")) > timezone.now():
            past_year -= 1
        past, _ = ensure_training_of_trainers(index, plan, stdout, year=past_year, past=True)
        ensure_past_registrations(past, stdout)
        ensure_on_demand_course(
            index, ensure_webinar, stdout, title=WEBINAR_TITLE, year=_last_webinar_year()
        )
    stdout.write("  events are ready")
