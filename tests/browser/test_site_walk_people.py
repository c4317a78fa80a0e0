"""Issue 15, items 12, 14 and 15 in Chromium at desktop and phone widths: a lapsed waitlist
offer and a seat transferred away as their people meet them (page and email), the transfer
form gone after the cut-off, check-in at the door finding names typed without accents with
no userbar over the search box, and a new staff member's first log-in through the
authenticator set-up to the admin, with account emails in the site's voice."""

import re
from datetime import timedelta

import pyotp
import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.utils.dateformat import format as format_date
from playwright.sync_api import expect

from certification.factories import make_registration
from cms.roles import EVENT_MANAGER
from courses import services
from courses.factories import make_event
from courses.models import RegistrationStatus, WaitlistEntry, WaitlistStatus
from tests.accounts_support import (
    PASSWORD,
    has_totp,
    log_in_browser,
    make_member,
    make_staff_in_role,
)
from tests.browser.conftest import assert_accessible, last_email, links_in, local_path

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, 390]
SITE_NAME = "Heart and Soul of Change Project"


def assert_no_sideways_scroll(page):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


def looks_right(page):
    """What every page a test visits must be: no sideways scroll, no axe violation."""
    assert_no_sideways_scroll(page)
    assert_accessible(page)


def confirmed_booking(event, purchaser, attendee=None):
    booking = services.place_hold(
        event=event,
        purchaser=purchaser,
        tickets={event.ticket_types.first().pk: 1},
        attendees=[attendee] if attendee else None,
    )
    services.confirm_registrations(booking, actor=purchaser)
    return booking


def emails_to(address, subject_start):
    return [m for m in mail.outbox if address in m.to and m.subject.startswith(subject_start)]


# -- item 12: waitlist and transfer -----------------------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_a_lapsed_waitlist_offer_says_it_lapsed_and_the_place_stays_in_view(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    event = make_event(title="FIT Supervision", capacity=1, starts_in=timedelta(days=30))
    owner = make_member("olu@example.org", "Olu Owner")
    taken = confirmed_booking(event, owner).registrations.get()
    wen = make_member("wen@example.org", "Wen Li")
    services.join_waitlist(event, user=wen)
    services.join_waitlist(event, user=make_member("ngozi@example.org", "Ngozi Next"))
    services.cancel_registration(taken, actor=owner)  # the freed seat is offered to Wen
    entry = WaitlistEntry.objects.get(user=wen)
    assert entry.status == WaitlistStatus.OFFERED
    (offer,) = emails_to("wen@example.org", "A seat is free")
    (claim_link,) = [link for link in links_in(offer) if f"/waitlist/{entry.claim_token}/" in link]

    services.expire_holds(now=entry.offer_expires_at + timedelta(minutes=1))

    # Wen is told by email that the offer lapsed, once, with the way back to the waitlist.
    (lapsed,) = emails_to("wen@example.org", "Your seat offer has lapsed")
    assert lapsed.subject == "Your seat offer has lapsed: FIT Supervision"
    assert "passed to the next person on the waitlist" in lapsed.body
    assert "join the waitlist again" in lapsed.body
    # The seat went on to the next person.
    assert WaitlistEntry.objects.get(user__email="ngozi@example.org").status == (
        WaitlistStatus.OFFERED
    )

    # The offer's link, followed late, says it lapsed and when, not "not valid".
    log_in_browser(page, wen)
    page.goto(local_path(claim_link))
    expect(page.get_by_role("heading", name="This link can't be used")).to_be_visible()
    alert = page.get_by_role("alert")
    day = format_date(event.local(entry.offer_expires_at), "j F Y")
    expect(alert).to_contain_text(f"This seat offer lapsed on {day}")
    expect(alert).to_contain_text("passed to the next person on the waitlist")
    expect(page.locator("main")).not_to_contain_text("not valid for your account")
    looks_right(page)

    # My registrations keeps the place in view, with the way to rejoin.
    page.get_by_role("link", name="Go to My registrations").click()
    waitlists = page.get_by_role("region", name="Waitlists")
    expect(waitlists).to_contain_text("FIT Supervision")
    expect(waitlists).to_contain_text("Offer lapsed")
    expect(waitlists).to_contain_text("passed to the next person")
    looks_right(page)

    waitlists.get_by_role("button", name="Join the waitlist again for FIT Supervision").click()
    expect(page.locator(".messages")).to_contain_text("You're on the waitlist for FIT Supervision")
    expect(page.get_by_role("region", name="Waitlists")).to_contain_text("On the waitlist")
    assert WaitlistEntry.objects.filter(user=wen, status=WaitlistStatus.WAITING).count() == 1
    looks_right(page)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_seat_transferred_away_is_emailed_and_the_form_goes_after_the_cut_off(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    workshop = make_event(title="Outcome Measures Workshop", starts_in=timedelta(days=30))
    soon = make_event(
        title="FIT Supervision Intensive",
        starts_in=timedelta(hours=24),
        cancellation_cutoff_hours=72,
    )
    chris = make_member("chris@example.org", "Chris Coordinator")
    confirmed_booking(
        workshop, chris, {"attendee_name": "Ilse Brandt", "attendee_email": "ilse@example.org"}
    )
    late_seat = confirmed_booking(soon, chris).registrations.get()
    log_in_browser(page, chris)

    page.goto("/registrations/")
    page.get_by_role("link", name="Transfer the seat of Ilse Brandt to a colleague").click()
    expect(page.get_by_role("heading", name="Transfer a seat to a colleague")).to_be_visible()
    looks_right(page)
    page.get_by_label("Colleague's legal name").fill("Kwame Mensah")
    page.get_by_label("Colleague's email address").fill("kwame@example.org")
    page.get_by_role("button", name="Transfer the seat").click()

    expect(page.locator(".messages")).to_contain_text("The seat is now Kwame Mensah's.")
    workshop_card = page.get_by_role("article", name="Outcome Measures Workshop")
    expect(workshop_card).to_contain_text("Transferred to Kwame Mensah.")
    looks_right(page)
    # Ilse, whose seat it was, is told, with the colleague's name.
    told = last_email(to="ilse@example.org")
    assert told.subject == "Your seat has been transferred: Outcome Measures Workshop"
    assert "Dear Ilse Brandt," in told.body
    assert "has been transferred to Kwame Mensah" in told.body
    assert "no longer have access to its join link or materials" in told.body

    # Inside the cut-off: no transfer (or cancel) button, and the page says why, no form.
    late_card = page.get_by_role("article", name="FIT Supervision Intensive")
    expect(late_card).to_contain_text("The deadline to cancel or transfer online has passed")
    expect(late_card.get_by_role("link", name=re.compile("^Transfer"))).to_have_count(0)
    expect(late_card.get_by_role("link", name=re.compile("^Cancel"))).to_have_count(0)
    page.goto(f"/registrations/seats/{late_seat.public_id}/transfer/")
    expect(page.get_by_role("alert")).to_contain_text(
        "The deadline to transfer has passed. Please contact us for help."
    )
    expect(page.get_by_label("Colleague's email address")).to_have_count(0)
    expect(page.get_by_role("button", name="Transfer the seat")).to_have_count(0)
    looks_right(page)
    late_seat.refresh_from_db()
    assert late_seat.status == RegistrationStatus.CONFIRMED


# -- item 14: check-in at the door ------------------------------------------------------------

NAMES = ["María Núñez", "Søren Kierkegaard", "Nguyễn Văn An"]


@pytest.mark.parametrize("width", WIDTHS)
def test_check_in_finds_names_typed_without_accents_with_nothing_over_the_search(page, width):
    page.set_viewport_size({"width": width, "height": 844})
    event = make_event(title="Outcome Measures Workshop", starts_in=timedelta(days=1))
    for name in NAMES:
        make_registration(event, name=name)
    staff = make_staff_in_role(EVENT_MANAGER, email="door@example.org", legal_name="Dora Door")
    log_in_browser(page, staff, second_factor=True)

    # On the site's other pages this staff member has Wagtail's floating userbar...
    page.goto(event.url)
    expect(page.locator("wagtail-userbar")).to_have_count(1)
    # ...but not on the check-in screen, where it covered the search box on a phone.
    page.goto(f"/attendance/events/{event.pk}/")
    expect(page.get_by_role("heading", name="Check-in: Outcome Measures Workshop")).to_be_visible()
    expect(page.locator("wagtail-userbar")).to_have_count(0)
    search = page.get_by_label("Search by name or email")
    search.scroll_into_view_if_needed()
    on_top = search.evaluate(
        """el => { const box = el.getBoundingClientRect();
            return document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2) === el;
        }"""
    )
    assert on_top, "something covers the search box"
    looks_right(page)

    attendees = page.get_by_role("list", name="Attendees")
    for typed, found in [
        ("nunez", "María Núñez"),
        ("soren", "Søren Kierkegaard"),
        ("nguyen", "Nguyễn Văn An"),
    ]:
        page.get_by_label("Search by name or email").fill(typed)
        page.get_by_role("button", name="Search").click()
        expect(page).to_have_url(re.compile(rf"[?&]q={typed}(&|$)"))
        expect(page.get_by_label("Search by name or email")).to_have_value(typed)
        expect(attendees.get_by_role("listitem")).to_have_count(1)
        expect(attendees).to_contain_text(found)
        for other in set(NAMES) - {found}:
            expect(attendees).not_to_contain_text(other)
    looks_right(page)

    page.get_by_label("Search by name or email").fill("nunez")
    page.get_by_role("button", name="Search").click()
    attendees.get_by_role("button", name="Check in María Núñez").click()
    expect(page.locator(".messages")).to_contain_text("María Núñez checked in to")
    expect(attendees).to_contain_text("Checked in")
    expect(page.locator("wagtail-userbar")).to_have_count(0)
    looks_right(page)


# -- item 15: a new staff member's first log-in ----------------------------------------------


@pytest.mark.parametrize("width", WIDTHS)
def test_first_staff_log_in_sets_up_the_authenticator_and_goes_on_to_the_admin(page, width):
    page.set_viewport_size({"width": width, "height": 900})
    staff = make_member("erin@example.org", "Erin Events", is_staff=True)
    staff.groups.add(Group.objects.get(name=EVENT_MANAGER))

    page.goto("/admin/")
    expect(page.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    page.get_by_label("Email").fill("erin@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()

    # Straight to the set-up: the password just typed is not asked for again.
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    main = page.locator("main")
    expect(main).not_to_contain_text(re.compile("Confirm Access|Confirm it's you", re.I))
    expect(page.get_by_label("Password")).to_have_count(0)
    expect(page.get_by_role("img", name=re.compile(".+"))).to_be_visible()  # the QR code
    looks_right(page)

    secret = page.get_by_label("Or type this key into the app").input_value()
    page.get_by_label("Authenticator code").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on two-factor authentication").click()

    # The recovery codes, then the way on to the admin they asked for.
    expect(page.get_by_role("heading", name="Your recovery codes")).to_be_visible()
    codes = page.get_by_label(re.compile("^Unused codes")).input_value().split()
    assert len(codes) >= 5, codes
    expect(main).to_contain_text("Saved them? Carry on to the page you asked for.")
    carry_on = main.get_by_role("link", name="Continue")
    expect(carry_on).to_have_attribute("href", "/admin/")
    looks_right(page)
    assert has_totp(staff)

    carry_on.click()
    expect(page).to_have_url(re.compile(r"/admin/$"))
    expect(page).to_have_title(re.compile("Dashboard"))
    assert_accessible(page)

    # The notice of the new authenticator speaks in the site's voice.
    notice = last_email(to="erin@example.org")
    assert notice.subject == "Your authenticator app is set up", notice.subject
    assert f"Hello from {SITE_NAME}!" in notice.body
    assert "signing in now asks for its six-digit code" in notice.body
    assert "Thank you for using" not in notice.body


@pytest.mark.parametrize("width", WIDTHS)
def test_account_emails_speak_in_the_sites_voice_with_links_to_this_site(page, live_server, width):
    page.set_viewport_size({"width": width, "height": 900})
    served = live_server.url

    page.goto("/accounts/signup/")
    page.get_by_label("Legal name").fill("Sam Okafor")
    page.get_by_label("Email").fill("sam@example.org")
    page.get_by_label("Password", exact=True).fill("alliance-outcome-feedback-42")
    page.get_by_label(re.compile(r"Password \(again\)|Confirm password", re.I)).fill(
        "alliance-outcome-feedback-42"
    )
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator("main")).to_contain_text(re.compile("confirm", re.I))
    looks_right(page)

    welcome = last_email(to="sam@example.org")
    assert f"Hello from {SITE_NAME}!" in welcome.body
    assert "One step is left to finish creating your account" in welcome.body
    assert "register an account on" not in welcome.body
    assert "Thank you for using" not in welcome.body
    links = links_in(welcome)
    assert links and all(link.startswith(served + "/") for link in links), links

    make_member("olu@example.org", "Olu Owner")
    page.goto("/accounts/password/reset/")
    page.get_by_label("Email").fill("olu@example.org")
    page.locator("main").get_by_role("button", name=re.compile("Reset", re.I)).click()
    expect(page.locator("main")).to_contain_text(re.compile("sent you an email|email", re.I))
    looks_right(page)

    reset = last_email(to="olu@example.org")
    assert f"Hello from {SITE_NAME}!" in reset.body
    assert "asked to reset the password of your account" in reset.body
    assert "register an account on" not in reset.body
    assert "Thank you for using" not in reset.body
    reset_links = links_in(reset)
    assert reset_links and all(link.startswith(served + "/") for link in reset_links)
    page.goto(local_path(reset_links[0]))
    expect(page.get_by_label(re.compile("New password", re.I)).first).to_be_visible()
