"""The confirmation email says when the event is, in the event's own time zone."""

import pytest
from django.core import mail
from django.utils import timezone

from courses.factories import UserFactory, make_event, register_with_ce

pytestmark = pytest.mark.django_db


@pytest.fixture
def confirmation_mail(django_capture_on_commit_callbacks):
    """Register someone for `event` and return the confirmation email they are sent."""

    def register(event, email):
        user = UserFactory(email=email, legal_name="Casey Clinician")
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            register_with_ce(event, user)
        return next(m for m in mail.outbox if "When:" in m.body)

    return register


def test_confirmation_email_gives_one_date_with_times_for_a_one_day_event(confirmation_mail):
    event = make_event(title="One Day Workshop", time_zone="America/New_York", days=1)
    start = timezone.localtime(event.starts_at, event.zone)
    message = confirmation_mail(event, "one@example.org")

    day = f"{start:%A} {start.day} {start:%B %Y}"
    assert f"When: {day}, 9:00 AM-3:00 PM {start:%Z} (America/New_York)" in message.body
    assert " to " not in message.body.split("When:")[1].splitlines()[0]
    html = message.alternatives[0][0]
    assert f"{day}, 9:00 AM–3:00 PM {start:%Z}" in html


def test_confirmation_email_gives_first_and_last_day_for_a_multi_day_event(confirmation_mail):
    event = make_event(title="Three Day Conference", time_zone="America/New_York", days=3)
    start = timezone.localtime(event.starts_at, event.zone)
    end = timezone.localtime(event.ends_at, event.zone)
    message = confirmation_mail(event, "three@example.org")

    assert (
        f"When: {start.day} {start:%B %Y} to {end.day} {end:%B %Y} (America/New_York)"
        in message.body
    )


def test_plain_text_and_subject_are_not_html_escaped_but_the_html_part_is(confirmation_mail):
    event = make_event(title="Couples & Families: O'Brien's Method", time_zone="America/New_York")
    message = confirmation_mail(event, "casey@example.org")

    assert message.subject == "You are registered: Couples & Families: O'Brien's Method"
    assert "Couples & Families: O'Brien's Method" in message.body
    assert "&amp;" not in message.body and "&#x27;" not in message.body
    html = message.alternatives[0][0]
    assert "Couples &amp; Families: O&#x27;Brien&#x27;s Method" in html


@pytest.mark.parametrize(
    ("venue_name", "venue_address", "where"),
    [
        ("", "Hyatt Regency, Sarasota", "Where: Hyatt Regency, Sarasota"),
        ("Hyatt Regency", "", "Where: Hyatt Regency\n"),
        ("", "", "Where: to be announced"),
    ],
)
def test_the_venue_line_has_no_stray_separator(confirmation_mail, venue_name, venue_address, where):
    event = make_event(
        title="Venue Workshop",
        format="workshop",
        venue_name=venue_name,
        venue_address=venue_address,
    )

    message = confirmation_mail(event, "venue@example.org")

    assert where in message.body
    assert "Where: ," not in message.body
    assert ", <" not in message.alternatives[0][0] and "<td>, " not in message.alternatives[0][0]
