"""The event page's cost: a fixed number of queries whatever the schedule or the site's size,
and a shared copy for anonymous visitors whose seat count is still read on every visit."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from courses import services
from courses.factories import PresenterFactory, UserFactory, make_event
from courses.models import Booking

pytestmark = pytest.mark.django_db

MAX_EVENT_PAGE_QUERIES = 15


def _queries(client, url):
    client.get(url)  # per-process caches (site root paths) warm, as for any later visitor
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.fixture
def page_cache(settings):
    cache.clear()
    settings.PAGE_CACHE_SECONDS = 300
    yield
    cache.clear()


def test_event_page_queries_do_not_grow_with_schedule_or_site(
    client, django_assert_max_num_queries
):
    small = make_event(days=1)
    small_count = _queries(client, small.url)

    big = make_event(days=50, title="Fifty sessions")
    big.presenters.set([PresenterFactory(), PresenterFactory(name="Scott Miller")])
    for _ in range(5):
        make_event()
    big_count = _queries(client, big.url)

    assert small_count == big_count
    with django_assert_max_num_queries(MAX_EVENT_PAGE_QUERIES):
        response = client.get(big.url)
    assert response.content.decode().count('class="schedule__item"') == 50


def test_signed_in_event_page_stays_within_the_query_budget(client, django_assert_max_num_queries):
    event = make_event(days=20)
    client.force_login(UserFactory())
    client.get(event.url)
    # Session, account, the person's own registration and the header's account links cost a
    # few more than an anonymous visit; still nothing per session.
    with django_assert_max_num_queries(MAX_EVENT_PAGE_QUERIES + 5):
        response = client.get(event.url)
    assert "30 seats left." in " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())


def test_schedule_times_read_as_in_the_event_zone(client):
    event = make_event(time_zone="America/Chicago", days=2)
    html = client.get(event.url).content.decode()
    first = timezone.localtime(event.sessions.first().start, event.zone)
    assert f'datetime="{first.isoformat()}"' in html
    assert first.strftime("%a %-d %b %Y, 9:00 AM – 3:00 PM %Z") in html


def test_anonymous_copy_is_shared_but_seats_left_are_counted_each_visit(client, page_cache):
    event = make_event(capacity=30)
    first = client.get(event.url)
    assert "<strong>30</strong> seats left." in first.content.decode()

    with CaptureQueriesContext(connection) as captured:
        again = client.get(event.url)
    assert len(captured.captured_queries) == 1  # the seat count, nothing else
    assert again.content == first.content

    services.place_hold(
        event=event, purchaser=UserFactory(), tickets={event.ticket_types.get().pk: 2}
    )
    assert "<strong>28</strong> seats left." in client.get(event.url).content.decode()

    booking = Booking.objects.get()
    services.release_registrations(
        booking, outcome=services.ReleaseOutcome.CANCELLED, reason="changed plans"
    )
    assert "<strong>30</strong> seats left." in client.get(event.url).content.decode()


def test_anonymous_copy_follows_registration_closing(client, page_cache):
    closes = timezone.now() + timedelta(hours=1)
    event = make_event(registration_closes_at=closes)
    assert "seats left." in client.get(event.url).content.decode()
    with time_machine.travel(closes + timedelta(minutes=1)):
        text = client.get(event.url).content.decode()
    assert "Registration closed" in text
    assert "seats left." not in text


def test_anonymous_visitor_chooses_by_get_and_finds_the_choice_after_login(client):
    event = make_event()
    standard = event.ticket_types.get()
    html = client.get(event.url).content.decode()
    register = reverse("courses:register", args=[event.pk])
    assert f'method="get" action="{register}"' in html
    assert "csrfmiddlewaretoken" not in html
    assert 'name="idempotency_key"' not in html

    response = client.get(register, {f"ticket_{standard.pk}": "3"})
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))

    client.force_login(UserFactory())
    page = client.get(register, {f"ticket_{standard.pk}": "3"}).content.decode()
    assert re.search(rf'name="ticket_{standard.pk}"[^>]*value="3"', page)
    assert 'name="idempotency_key"' in page
    event_html = client.get(event.url).content.decode()
    assert f'method="post" action="{register}"' in event_html
    assert "csrfmiddlewaretoken" in event_html
