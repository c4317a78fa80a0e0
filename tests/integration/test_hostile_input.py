"""Hostile input gets a 4xx with a message a person can read, never a 500 (issue 9).

NUL characters (PostgreSQL refuses them in text), ids past 64 bits (SQLite's integers end
there), words where numbers belong, broken tus headers and Stripe events for objects this
site does not know: each case found on the running site has a test, then a walker sends
hostile paths, query strings and forms to every route of the URLconf.
"""

import re
import uuid
from urllib.parse import quote, unquote

import pytest
from django.conf import settings
from django.core import mail
from django.core.exceptions import BadRequest
from django.db import transaction
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve
from django.urls.converters import UUIDConverter
from django.utils.regex_helper import normalize

from certification.models import License
from cms.models import AuditRecord
from cms.untrusted_input import IdConverter, TextConverter
from courses import services as courses_services
from courses.factories import UserFactory, make_event
from courses.models import WaitlistEntry
from payments import services as payments_services
from payments.models import WebhookEvent
from tests.accounts_support import log_in_with_totp, make_member, make_staff_with_totp
from tests.fakestripe.helpers import post_webhook, running_fake_stripe
from tests.trainers_support.builders import (
    TUS,
    build_track,
    start_submission,
    tus_metadata,
)

UNACCEPTABLE = "Your request contained a character we cannot accept."


def _text(response):
    """The page's visible text with tags dropped and spaces collapsed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", response.content.decode(), flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.fixture
def visitor():
    return Client(raise_request_exception=False)


@pytest.fixture
def member(visitor):
    user = make_member()
    visitor.force_login(user)
    return user


# -- the cases of issue 9 -----------------------------------------------------------------------


@pytest.mark.django_db
def test_a_nul_in_the_search_query_is_a_400_that_says_why(visitor):
    make_event(title="Feedback-Informed Treatment Workshop")

    response = visitor.get("/search/?query=feedback%00")

    assert response.status_code == 400
    assert UNACCEPTABLE in _text(response)
    assert 'name="query"' in response.content.decode()  # a search box to try again


@pytest.mark.django_db
def test_a_nul_in_an_invitation_or_waitlist_link_is_a_400_that_says_why(visitor, member):
    claim = visitor.get("/registrations/claim/a%00b/")
    waitlist = visitor.get("/registrations/waitlist/a%00b/")
    verify = visitor.get("/verify/a%00b/")

    for response in (claim, waitlist, verify):
        assert response.status_code == 400
        assert UNACCEPTABLE in _text(response)


@pytest.mark.django_db
def test_a_waitlist_request_for_a_ticket_that_is_not_a_number_says_so_and_adds_no_one(
    visitor, member
):
    event = make_event(title="Full Workshop", capacity=1)
    courses_services.place_hold(
        event=event, purchaser=UserFactory(), tickets={event.ticket_types.get().pk: 1}
    )

    response = visitor.post(
        f"/registrations/events/{event.pk}/waitlist/", {"ticket_type": "abc"}, follow=True
    )

    assert response.status_code == 200
    assert response.redirect_chain[0][0] == event.url
    assert "That ticket is not offered for this event." in _text(response)
    assert not WaitlistEntry.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    [
        "/registrations/events/99999999999999999999/register/",
        "/registrations/events/9223372036854775808/register/",
        "/registrations/events/0/register/",
    ],
)
def test_an_event_id_no_database_can_hold_is_not_found(visitor, member, path):
    response = visitor.get(path)

    assert response.status_code == 404
    assert "We can't find that page" in _text(response)


def test_the_id_converter_takes_exactly_the_ids_a_64_bit_column_holds():
    converter = IdConverter()
    assert converter.to_python("9223372036854775807") == 2**63 - 1
    for value in ("0", "9223372036854775808", "99999999999999999999", "١٢"):
        with pytest.raises(ValueError):
            converter.to_python(value)
    assert TextConverter().to_python("abc") == "abc"


@pytest.mark.django_db
@pytest.mark.parametrize("event_filter", ["999999999999999999999", "abc", "-1"])
def test_an_event_filter_that_cannot_be_an_id_lists_every_order_for_finance(finance, event_filter):
    event = make_event(title="Filtered Workshop", price=45000)
    booking = courses_services.place_hold(
        event=event, purchaser=UserFactory(), tickets={event.ticket_types.get().pk: 1}
    )
    order = payments_services.order_for_booking(booking)

    response = finance.get(f"/admin/finance/orders/?event={event_filter}&page=99999999999999999")

    assert response.status_code == 200
    assert order.reference in _text(response)


@pytest.mark.django_db
def test_a_nul_in_the_finance_order_search_is_a_400_that_says_why(finance):
    response = finance.get("/admin/finance/orders/?q=a%00b")

    assert response.status_code == 400
    assert UNACCEPTABLE in _text(response)


@pytest.mark.django_db
def test_a_license_choice_no_database_can_hold_is_refused_on_the_form(visitor, member):
    event = make_event(title="CE Workshop")
    booking = courses_services.place_hold(
        event=event, purchaser=member, tickets={event.ticket_types.get().pk: 1}
    )
    booking.registrations.update(attendee=member)
    seat = booking.registrations.get()
    License.objects.create(user=member, profession="LPC", jurisdiction="TX", number="12345")

    response = visitor.post(
        f"/ce/registrations/{seat.public_id}/licenses/", {"licenses": "99999999999999999999"}
    )

    assert response.status_code == 200
    assert "Select a valid choice. 99999999999999999999 is not one of" in _text(response)
    assert not seat.ce_licenses.exists()


@pytest.mark.django_db
def test_a_tus_chunk_whose_content_length_is_not_a_number_is_a_400(visitor, member):
    submission = start_submission(build_track(), member)
    created = visitor.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH="10",
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id),
        **TUS,
    )

    response = visitor.generic(
        "PATCH",
        created["Location"],
        b"x" * 10,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        CONTENT_LENGTH="abc",
        **TUS,
    )

    assert response.status_code == 400
    assert response["Tus-Resumable"] == "1.0.0"
    assert response.content.decode() == "Content-Length must be a whole number of bytes."
    assert visitor.head(created["Location"], **TUS)["Upload-Offset"] == "0"


@pytest.mark.django_db
def test_a_tus_chunk_with_a_nul_in_its_bytes_is_stored_as_sent(visitor, member):
    """File content is bytes, not text: the NUL refusal must never reach an upload's body."""
    submission = start_submission(build_track(), member)
    created = visitor.post(
        "/certification/uploads/tus/",
        HTTP_UPLOAD_LENGTH="20",
        HTTP_UPLOAD_METADATA=tus_metadata(submission=submission.public_id),
        **TUS,
    )

    response = visitor.generic(
        "PATCH",
        created["Location"],
        b"\x00" * 10,
        content_type="application/offset+octet-stream",
        HTTP_UPLOAD_OFFSET="0",
        **TUS,
    )

    assert response.status_code == 204
    assert response["Upload-Offset"] == "10"


@pytest.fixture
def fake_stripe(settings):
    yield from running_fake_stripe(settings)


@pytest.fixture
def finance():
    """A Finance member signed in the way staff sign in: password, then the second factor."""
    from django.contrib.auth.models import Group

    person, secret = make_staff_with_totp("finance@example.org", "Fiona Finance")
    person.groups.add(Group.objects.get(name="Finance"))
    client = Client()
    log_in_with_totp(client, person.email, secret)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("event_type", "obj", "told"),
    [
        (
            "checkout.session.completed",
            {"id": "cs_test_nobody_knows", "object": "checkout.session"},
            "Stripe sent an event for a Checkout Session we do not know: cs_test_nobody_knows",
        ),
        (
            "charge.refunded",
            {"id": "ch_nobody_knows", "object": "charge"},
            "Stripe sent an event for a charge we do not know: ch_nobody_knows",
        ),
        (
            "checkout.session.completed",
            {"object": "checkout.session"},
            "Stripe sent a checkout.session.completed event without the id of its object",
        ),
    ],
    ids=["unknown session", "unknown charge", "no object id"],
)
def test_a_signed_stripe_event_this_site_cannot_match_is_answered_200_and_told_to_finance(
    visitor, fake_stripe, finance, event_type, obj, told
):
    event = fake_stripe.build_event(event_type, obj)
    mail.outbox.clear()

    response = post_webhook(visitor, event, fake=fake_stripe)
    again = post_webhook(visitor, event, fake=fake_stripe)

    assert response.status_code == 200, "a 5xx makes Stripe retry for days"
    assert again.status_code == 200 and again.json()["duplicate"]
    record = WebhookEvent.objects.get()
    assert record.processed_at is not None
    assert record.outcome == told
    assert AuditRecord.objects.get(action="payments.webhook.unmatched").note == told
    (alert,) = mail.outbox
    assert alert.to == ["finance@example.org"]
    assert told in alert.body
    orders_screen = finance.get("/admin/finance/orders/")
    assert orders_screen.status_code == 200
    assert "Stripe events that match no order" in _text(orders_screen)
    assert told in _text(orders_screen)


# -- every route, hostile values ---------------------------------------------------------------

HOSTILE_PATH_VALUES = [
    "99999999999999999999",
    "-1",
    "0",
    "\x00",
    "x" * 3000,
    "../../etc/passwd",
    str(uuid.uuid4()),
]
HOSTILE_QUERIES = [
    "?page=999999999999999999999&next=https://evil.example&query=%00&event=abc",
    # The names the project's other search boxes and look-ups use, text and ids apart: a view
    # that refuses a bad id first never reads the text.
    "?q=%00&code=%00&format=%00",
    "?session=99999999999999999999&registration=abc&track=abc&page=-1",
]
HOSTILE_FORMS = [
    {"email": "a" * 3000, "ticket_type": "abc", "quantity": "-1", "code": "\x00"},
    # Fields the project's staff screens read without a form.
    {
        "registration": ["abc", "99999999999999999999"],
        "licenses": "99999999999999999999",
        "track": "abc",
        "session": "abc",
    },
]
PROJECT_APPS = ("cms", "courses", "payments", "certification")


def _is_projects(callback):
    view = getattr(callback, "view_class", callback)
    return view.__module__.split(".")[0] in PROJECT_APPS


def _routes(resolver=None, prefix="", converters=None):
    """(regex, converters, view) of every endpoint, prefixes joined as the resolver joins them.

    Under /admin/ only the project's own screens are walked: Wagtail's ~360 admin routes
    (pages, images, snippets...) are Wagtail's to test, and walking them would take minutes.
    """
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        regex = prefix + entry.pattern.regex.pattern.removeprefix("^")
        found = {**(converters or {}), **getattr(entry.pattern, "converters", {})}
        if isinstance(entry, URLResolver):
            yield from _routes(entry, regex, found)
        elif isinstance(entry, URLPattern):
            if regex.startswith("admin/") and not _is_projects(entry.callback):
                continue
            yield regex, found, entry.callback


def _reaches(path, callback):
    """True when `path` is served by `callback` (or refused while being resolved)."""
    try:
        return resolve(unquote(path.split("?")[0])).func == callback
    except Resolver404:
        return False
    except BadRequest:
        return True


def _requests(regex, converters, callback, real):
    """(method, url, data) for one route: its plain path with hostile queries and forms, then
    each path parameter with each hostile value.

    A hostile value its converter refuses (a word for an `<id:...>`) falls through to another
    route (Wagtail's page serving): that route gets the same values when it is walked itself,
    so the value is sent here only when it reaches this route's view.
    """
    template, params = normalize(regex)[0]
    base = {name: real(regex, name, converters.get(name)) for name in params}
    plain = "/" + template % {name: quote(str(value), safe="") for name, value in base.items()}
    yield "GET", plain, None
    for query in HOSTILE_QUERIES:
        yield "GET", plain + query, None
    for form in HOSTILE_FORMS:
        yield "POST", plain, form
    for name in params:
        for value in HOSTILE_PATH_VALUES:
            values = {**base, name: value}
            path = "/" + template % {key: quote(str(v), safe="/") for key, v in values.items()}
            if _reaches(path, callback):
                yield "GET", path, None
                yield "POST", path, HOSTILE_FORMS[0]


@pytest.mark.django_db
def test_no_route_answers_hostile_paths_queries_or_forms_with_a_server_error():
    """Anonymous, as a member with a booking, and as a superuser past the second factor."""
    event = make_event(title="Walked Workshop", price=45000)
    person = make_member("walker@example.org", "Walter Walker")
    booking = courses_services.place_hold(
        event=event, purchaser=person, tickets={event.ticket_types.get().pk: 1}
    )
    order = payments_services.order_for_booking(booking)
    seat = booking.registrations.get()
    booking.registrations.update(attendee=person)  # the member's own seat: its CE pages open

    def real(regex, name, converter):
        """A value that reaches the view: the world's event, booking, seat and order."""
        if isinstance(converter, IdConverter):
            return event.pk
        if isinstance(converter, UUIDConverter):
            if name == "order_id":
                return order.public_id
            return seat.public_id if re.search("seats|registrations", regex) else booking.public_id
        return "abc"

    routes = [list(_requests(*route, real)) for route in _routes()]
    anonymous = Client(raise_request_exception=False)
    signed_in = Client(raise_request_exception=False)
    signed_in.force_login(person)
    staff = Client(raise_request_exception=False)
    staff_user, secret = make_staff_with_totp(is_superuser=True)
    log_in_with_totp(staff, staff_user.email, secret)
    failures = []
    for client, who in ((anonymous, "anonymous"), (signed_in, "member"), (staff, "staff")):
        session_key = client.cookies.get(settings.SESSION_COOKIE_NAME)
        for requests in routes:
            # Each route sees the same world: a walked cancel, logout or account deletion
            # is undone before the next route.
            with transaction.atomic():
                for method, url, data in requests:
                    response = client.get(url) if method == "GET" else client.post(url, data)
                    if response.status_code >= 500:
                        failures.append(f"{who} {method} {url[:160]} -> {response.status_code}")
                transaction.set_rollback(True)
            if session_key:
                client.cookies[settings.SESSION_COOKIE_NAME] = session_key.value
    assert sum(map(len, routes)) > 500, "the walk found too few routes to mean anything"
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(failures)


@pytest.mark.django_db
def test_a_nul_anywhere_in_a_form_or_query_is_refused_before_any_view(client):
    """Wagtail's own screens and any future view are covered too, not only the ones we fixed."""
    for path in ("/admin/pages/search/?q=%00", "/registrations/?page=%00", "/verify/?x=%00"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert "a character we cannot accept" in response.content.decode()
    # Browsers send forms URL-encoded.
    posted = client.post(
        "/accounts/login/",
        "login=a%00b%40example.org&password=x",
        content_type="application/x-www-form-urlencoded",
    )
    assert posted.status_code == 400
    assert "a character we cannot accept" in posted.content.decode()
