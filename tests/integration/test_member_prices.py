"""Member prices: a ticket can carry a member price or be for members only.

A member sees their price at once on the register page (no access code) and pays it; anyone
else sees it with a link to join and pays the price. A members-only ticket is refused on the
server to a non-member (even in a form sent without the page), with the way to join. Prices
are checked at hold time and again when an unpaid booking is priced for payment: a member
whose membership ends before paying pays the normal price.
"""

import html as html_lib
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cms.audit import history
from cms.factories import home_page
from cms.library import LibraryIndexPage
from cms.roles import EVENT_MANAGER
from courses import services
from courses.factories import make_event, ticket
from courses.models import Booking, MembershipPeriod, PeriodSource, Registration, TicketType
from courses.services.pricing import check_member_tickets
from payments import services as payments
from payments.models import Order
from tests.accounts_support import make_member

pytestmark = pytest.mark.django_db

PRICE, MEMBER_PRICE = 45000, 40500  # $450.00 and $405.00


def _text(response):
    """The page's visible text with tags dropped and spaces collapsed."""
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def group():
    return Group.objects.create(name="Member site subscribers")


@pytest.fixture
def event():
    """An event whose one ticket costs $450.00, or $405.00 for members."""
    event = make_event(price=PRICE)
    event.ticket_types.update(member_price=MEMBER_PRICE)
    return event


@pytest.fixture
def join_page(event):
    """The members' library, the join page for non-members (make_event made the home page)."""
    library = LibraryIndexPage(title="Member site", slug="member-site")
    home_page().add_child(instance=library)
    return library.url


def _make_member(email, group, now=None):
    person = make_member(email, "Martha Member")
    services.add_period(
        person,
        group_id=group.pk,
        months=12,
        source=PeriodSource.PURCHASE,
        reference=f"order:{email}",
        now=now or timezone.now(),
        actor=person,
    )
    return person


def _register_page(client, event):
    return client.get(reverse("courses:register", args=[event.pk]))


def _choose(client, event, quantities, key="key-1"):
    data = {"idempotency_key": key}
    data.update({f"ticket_{t.pk}": n for t, n in quantities.items()})
    return client.post(reverse("courses:register", args=[event.pk]), data)


def _summary(client, booking):
    return _text(client.get(reverse("courses:booking_summary", args=[booking.public_id])))


def test_a_member_sees_and_pays_the_member_price_with_no_access_code(client, group, event):
    member = _make_member("martha@example.org", group)
    client.force_login(member)
    standard = event.ticket_types.get()

    page = _text(_register_page(client, event))
    assert "Standard was $450.00 $405.00 member price" in page
    assert "Join to get this price" not in page
    assert "Access code" not in page

    response = _choose(client, event, {standard: 2})

    assert response.status_code == 302
    booking = Booking.objects.get()
    assert list(booking.registrations.values_list("unit_price", flat=True)) == [MEMBER_PRICE] * 2
    [line] = services.booking_line_items(booking)
    assert line["description"] == f"{event.title}: Standard (member price)"
    assert (line["quantity"], line["unit_amount"]) == (2, MEMBER_PRICE)
    summary = _summary(client, booking)
    assert "Standard (member price) 2 $405.00 $810.00" in summary
    assert "Total $810.00" in summary


def test_a_non_member_sees_the_member_price_with_a_join_link_and_pays_the_price(
    client, event, join_page
):
    client.force_login(make_member("nora@example.org", "Nora Nonmember"))
    standard = event.ticket_types.get()

    response = _register_page(client, event)
    page = _text(response)
    assert "Standard $450.00 Members pay $405.00." in page
    assert f'<a href="{join_page}">Join to get this price</a>' in response.content.decode()
    assert "member price" not in page

    _choose(client, event, {standard: 1})

    booking = Booking.objects.get()
    assert booking.registrations.get().unit_price == PRICE
    [line] = services.booking_line_items(booking)
    assert line["description"] == f"{event.title}: Standard"
    assert "Total $450.00" in _summary(client, booking)


def test_a_members_only_ticket_is_shown_to_a_non_member_without_a_way_to_choose_it(
    client, event, join_page
):
    members_rate = ticket(event, name="Members' rate", price=30000, members_only=True)
    client.force_login(make_member("nora@example.org", "Nora Nonmember"))

    response = _register_page(client, event)

    html = response.content.decode()
    page = _text(response)
    assert "Members' rate $300.00 Members only" in page
    assert "Only members of the member site can book this ticket. Join to book it" in page
    assert f'<a href="{join_page}">Join to book it</a>' in html
    assert f'name="ticket_{members_rate.pk}"' not in html
    assert f'name="ticket_{event.ticket_types.get(name="Standard").pk}"' in html


def test_a_forged_choice_of_a_members_only_ticket_is_refused_with_how_to_join(
    client, event, join_page
):
    members_rate = ticket(event, name="Members' rate", price=30000, members_only=True)
    client.force_login(make_member("nora@example.org", "Nora Nonmember"))

    response = _choose(client, event, {members_rate: 1})

    assert response.status_code == 400
    page = _text(response)
    assert (
        "“Members' rate” is for members of the member site only. "
        f"To book it, join first: see {join_page}"
    ) in page
    assert not Booking.objects.exists()
    assert not Registration.objects.exists()


def test_a_member_books_a_members_only_ticket(client, group, event):
    members_rate = ticket(event, name="Members' rate", price=30000, members_only=True)
    client.force_login(_make_member("martha@example.org", group))

    html = _register_page(client, event).content.decode()
    assert f'name="ticket_{members_rate.pk}"' in html

    response = _choose(client, event, {members_rate: 1})

    assert response.status_code == 302
    assert Registration.objects.get().unit_price == 30000


def test_a_member_who_lapses_before_paying_pays_the_normal_price(client, group, event):
    member = _make_member("martha@example.org", group)
    client.force_login(member)
    _choose(client, event, {event.ticket_types.get(): 1})
    booking = Booking.objects.get()
    assert payments.order_for_booking(booking).total == MEMBER_PRICE

    period = MembershipPeriod.objects.get(membership__user=member)
    services.revoke_period(period, now=timezone.now(), actor=None)

    order = payments.order_for_booking(booking)  # what Checkout and invoices are made from
    assert order.total == PRICE
    assert [line.description for line in order.line_items.all()] == [f"{event.title}: Standard"]
    assert booking.registrations.get().unit_price == PRICE  # refunds read what was paid
    assert "Total $450.00" in _summary(client, booking)
    assert [r.action for r in history(booking)][0] == "courses.booking.repriced"


def test_a_lapsed_member_keeps_the_early_bird_price_of_the_hold(client, group):
    event = make_event(price=PRICE)
    event.ticket_types.update(
        member_price=MEMBER_PRICE,
        early_bird_price=42000,
        early_bird_until=timezone.now() + timedelta(days=10),
    )
    member = _make_member("martha@example.org", group)
    client.force_login(member)
    _choose(client, event, {event.ticket_types.get(): 1})
    booking = Booking.objects.get()
    assert booking.registrations.get().unit_price == MEMBER_PRICE  # lower than the early bird

    services.revoke_period(
        MembershipPeriod.objects.get(membership__user=member), now=timezone.now(), actor=None
    )

    [line] = services.booking_line_items(booking)
    assert line["unit_amount"] == 42000


def test_the_early_bird_price_applies_to_a_member_when_it_is_lower(client, group):
    event = make_event(price=PRICE)
    event.ticket_types.update(
        member_price=MEMBER_PRICE,
        early_bird_price=39500,
        early_bird_until=timezone.now() + timedelta(days=10),
    )
    client.force_login(_make_member("martha@example.org", group))

    page = _text(_register_page(client, event))
    assert "Standard $395.00 Early-bird price" in page
    assert "member price" not in page

    _choose(client, event, {event.ticket_types.get(): 1})
    assert Registration.objects.get().unit_price == 39500


def test_a_members_only_seat_cannot_be_paid_once_the_membership_ends(client, group, event):
    members_rate = ticket(event, name="Members' rate", price=30000, members_only=True)
    member = _make_member("martha@example.org", group)
    client.force_login(member)
    _choose(client, event, {members_rate: 1})
    booking = Booking.objects.get()
    check_member_tickets(booking)  # a member: nothing to refuse

    services.revoke_period(
        MembershipPeriod.objects.get(membership__user=member), now=timezone.now(), actor=None
    )

    with pytest.raises(services.RegistrationError) as refused:
        check_member_tickets(booking)
    assert refused.value.message.startswith(
        "“Members' rate” is for members of the member site only, and your membership has "
        "ended, so this booking cannot be paid."
    )


def test_editors_are_told_what_a_member_price_must_be(event):
    standard = event.ticket_types.get()
    standard.member_price = PRICE
    with pytest.raises(ValidationError) as too_high:
        standard.clean()
    assert too_high.value.message_dict["member_price"] == [
        "The member price must be below the price, or left empty."
    ]

    members_rate = TicketType(
        event=event, name="Members' rate", price=30000, member_price=25000, members_only=True
    )
    with pytest.raises(ValidationError) as two_prices:
        members_rate.clean()
    assert "put it in Price" in two_prices.value.message_dict["member_price"][0]


def test_the_event_page_tells_everyone_the_member_price_and_where_members_book(client, event):
    ticket(event, name="Members' rate", price=30000, members_only=True)

    response = client.get(event.url)

    page = _text(response)
    assert "Standard $450.00 Members pay $405.00." in page
    assert "Members' rate $300.00 Members only" in page
    assert "Members book it on the registration page" in page
    register = reverse("courses:register", args=[event.pk])
    assert f'href="{register}?full=1"' in response.content.decode()


def test_the_event_editor_offers_the_member_price_in_the_events_units(
    client, event, staff_signed_in
):
    staff_signed_in(EVENT_MANAGER)

    editor = client.get(f"/admin/pages/{event.pk}/edit/")

    assert editor.status_code == 200
    html = html_lib.unescape(editor.content.decode())
    assert 'name="ticket_types-0-member_price"' in html
    assert 'value="405.00"' in html
    assert "In the event's currency, e.g. 395.00; members pay this instead." in html
    assert 'name="ticket_types-0-members_only"' in html
    assert "Only members of the member site can book it" in html


def test_the_checkout_page_refuses_a_members_only_seat_once_the_membership_ends(
    client, group, event, settings
):
    settings.STRIPE_SECRET_KEY = "sk_test_unreachable"  # refused before Stripe is called
    members_rate = ticket(event, name="Members' rate", price=30000, members_only=True)
    member = _make_member("martha@example.org", group)
    client.force_login(member)
    _choose(client, event, {members_rate: 1})
    booking = Booking.objects.get()
    services.revoke_period(
        MembershipPeriod.objects.get(membership__user=member), now=timezone.now(), actor=None
    )

    response = client.post(
        reverse("payments:checkout", args=[booking.public_id]), {"action": "card"}, follow=True
    )

    assert "your membership has ended, so this booking cannot be paid" in _text(response)
    assert not Order.objects.filter(booking=booking, stripe_checkout_session_id__gt="").exists()


def _membership_queries(captured):
    return [q["sql"] for q in captured.captured_queries if "courses_membership" in q["sql"]]


def test_the_event_page_shows_a_signed_in_member_their_own_price(client, group, event):
    members_rate = ticket(event, name="Members' rate", price=30000, members_only=True)
    client.force_login(_make_member("martha@example.org", group))
    client.get(event.url)  # per-process caches warm, as for any later visitor

    with CaptureQueriesContext(connection) as captured:
        response = client.get(event.url)

    page = _text(response)
    html = response.content.decode()
    assert "Standard was $450.00 $405.00 member price" in page
    assert "Members pay" not in page
    assert "Join to get this price" not in page
    # The members-only rate is theirs to choose, here on the event page.
    assert f'name="ticket_{members_rate.pk}"' in html
    assert "Members book it on the registration page" not in page
    assert len(_membership_queries(captured)) == 1

    _choose(client, event, {event.ticket_types.get(name="Standard"): 1})
    assert Registration.objects.get().unit_price == MEMBER_PRICE


@pytest.fixture
def library_on_the_events_site(event):
    """The members' library on the site the event is on (`join_page` makes a new home page,
    which leaves the event off the site: fine for the register page, not for the event's)."""
    library = LibraryIndexPage(title="Member site", slug="member-site")
    event.get_site().root_page.add_child(instance=library)
    return library.url


def test_the_event_page_shows_a_signed_in_non_member_the_member_price_and_how_to_join(
    client, event, library_on_the_events_site
):
    join_page = library_on_the_events_site
    members_rate = ticket(event, name="Members' rate", price=30000, members_only=True)
    client.force_login(make_member("nora@example.org", "Nora Nonmember"))

    response = client.get(event.url)

    page = _text(response)
    html = response.content.decode()
    assert "Standard $450.00 Members pay $405.00." in page
    assert f'<a href="{join_page}">Join to get this price</a>' in html
    assert "member price" not in page
    assert "Only members of the member site can book this ticket. Join to book it" in page
    assert f'name="ticket_{members_rate.pk}"' not in html


def test_the_event_page_asks_about_membership_only_when_a_ticket_depends_on_it(client, group):
    event = make_event(price=PRICE)  # no member price, no members-only rate
    client.force_login(_make_member("martha@example.org", group))
    client.get(event.url)

    with CaptureQueriesContext(connection) as captured:
        page = _text(client.get(event.url))

    assert "Standard $450.00" in page
    assert _membership_queries(captured) == []


def test_a_members_price_is_never_in_the_anonymous_visitors_shared_copy(group, event, settings):
    """The event page is kept for anonymous visitors (cms/page_cache.py): a member's visit,
    before or after the copy is made, neither lands in it nor is served from it."""
    settings.PAGE_CACHE_SECONDS = 300
    member, anonymous = Client(), Client()
    member.force_login(_make_member("martha@example.org", group))

    assert "Standard was $450.00 $405.00 member price" in _text(member.get(event.url))
    first = _text(anonymous.get(event.url))
    shared_response = anonymous.get(event.url)
    shared = _text(shared_response)
    again = member.get(event.url)

    assert shared_response.wsgi_request.metrics_view == "page_cache"
    assert getattr(again.wsgi_request, "metrics_view", "") != "page_cache"
    for copy in (first, shared):
        assert "Standard $450.00 Members pay $405.00." in copy
        assert "member price" not in copy
    assert "Standard was $450.00 $405.00 member price" in _text(again)
