"""The whole demo site walked at desktop (1280 px) and phone (390 px) width, as its people meet it.

`load_demo` builds the site a newcomer gets from `make run`, with SITE_URL set to the live
server's address as `make run` sets it from HOST and PORT. Then an anonymous visitor, a
member with confirmed registrations and a held booking, and a CE administrator who entered
their authenticator code each open every page they can reach. Each page must answer 200,
fit the width (nothing scrolls sideways), have no serious or critical axe violation, and
print every link to this site on the address it is served from (not 127.0.0.1:8000).
Requests to other hosts and CSP violations fail the test through the `page` fixture.

All problems are collected and reported together, each naming the page and the width.
"""

import html
import io
import re
from datetime import timedelta
from urllib.parse import unquote, urlsplit

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Error as PlaywrightError

from certification.models.certificates import Certificate
from certification.trainers.models.credentials import Credential
from certification.trainers.models.tracks import Track
from certification.trainers.services.enrolment import enrol
from cms.models import ArticlePage, NewsIndexPage, StandardPage, User
from cms.roles import CE_ADMINISTRATOR
from courses import services
from courses.models import EventPage
from courses.models.registrations import Booking, Registration
from payments.models import Order
from payments.services.invoices import choose_invoice_payment
from payments.services.orders import order_for_booking
from payments.services.policy import refund_policy
from tests.accounts_support import PASSWORD, log_in_browser, make_staff_in_role
from tests.browser.conftest import axe_violations

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

# "axe stays at zero violations": every impact level, not only serious and critical.
AXE_IMPACTS = ("minor", "moderate", "serious", "critical")
# Wagtail's own markup, not the site's: its stock admin home (wagtailadmin/home.html) has a
# page search form with role="search" and no name beside the sidebar's unnamed search form,
# which axe reports as landmark-unique (moderate) at desktop width, where both show.
UPSTREAM = {("/admin/", "landmark-unique")}
WIDTHS = {"desktop": (1280, 900), "phone": (390, 844)}
# Host names that mean "this site": a link on one of them must carry the served port.
LOCAL_HOSTS = {"127.0.0.1", "localhost", "0.0.0.0", "testserver", "[::1]", "::1"}  # noqa: S104
ABSOLUTE_URL = re.compile(r"https?://[^\s<>\"'()\\,]+")

# What overflows, for the failure message: elements reaching past the right edge.
OVERFLOW = """() => {
    const doc = document.documentElement;
    if (doc.scrollWidth <= doc.clientWidth) return null;
    const limit = doc.clientWidth;
    const culprits = [];
    for (const el of document.body.querySelectorAll("*")) {
        const box = el.getBoundingClientRect();
        if (box.width === 0 || box.right <= limit + 1) continue;
        // Report the outermost element that overflows, not all its children.
        if (el.parentElement && el.parentElement.getBoundingClientRect().right > limit + 1
            && el.parentElement !== document.body) continue;
        const name = el.tagName.toLowerCase()
            + (el.id ? "#" + el.id : "")
            + (el.className && typeof el.className === "string"
               ? "." + el.className.trim().split(/\\s+/).join(".") : "");
        culprits.push(`${name} (right edge ${Math.round(box.right)} px)`);
        if (culprits.length >= 4) break;
    }
    return {scrollWidth: doc.scrollWidth, clientWidth: limit, culprits};
}"""


@pytest.fixture
def demo_site(live_server, settings):
    """The demo content, built for the live server's address as `make run` builds it."""
    settings.SITE_URL = live_server.url
    settings.WAGTAILADMIN_BASE_URL = live_server.url
    call_command("load_demo", stdout=io.StringIO())
    return live_server.url


def public_pages():
    events = EventPage.objects.live().public().order_by("starts_at")
    certificate = Certificate.objects.order_by("pk").first()
    credential = Credential.objects.order_by("pk").first()
    pages = [
        "/",
        events.first().get_parent().url,
        *[event.url for event in events],
        NewsIndexPage.objects.live().first().url,
        *[article.url for article in ArticlePage.objects.live()],
        *[standard.url for standard in StandardPage.objects.live().public()],
        "/search/?q=alliance",
        "/search/?q=zzzz-nothing-matches",
        "/verify/",
        f"/verify/{certificate.code}/",
        ("/verify/NOT-A-CODE/", 404),
        "/certification/directory/",
        "/accounts/login/",
        "/accounts/signup/",
        "/accounts/password/reset/",
        ("/no-such-page/", 404),
    ]
    if credential is not None:
        pages.append(f"/certification/verify/{credential.verification_code}/")
    return pages


def what_event_pages_state():
    """Each upcoming event page's promises, as the buyer must read them: the refund policy's
    sentences (paid events) and the full name of every body approving its CE."""
    must_say = {}
    for event in EventPage.objects.live().filter(starts_at__gt=timezone.now()):
        policy = refund_policy(event)
        sentences = policy.sentences() if policy else []
        bodies = [offering.body.name for offering in event.ce_offerings.select_related("body")]
        must_say[event.url] = [*sentences, *bodies]
    return must_say


def prepare_member():
    """A demo attendee with a password, a confirmed email, the seats the demo gave them (a
    finished conference with a certificate), a confirmed free webinar seat, a seat on one
    paid event paid by invoice, and a held booking on the other."""
    certificate = Certificate.objects.select_related("attendee").order_by("pk").first()
    member = certificate.attendee
    member.set_password(PASSWORD)
    member.save()
    EmailAddress.objects.update_or_create(
        user=member, email=member.email, defaults={"primary": True, "verified": True}
    )
    now = timezone.now()
    upcoming = EventPage.objects.live().filter(starts_at__gt=now)
    free = next(event for event in upcoming if event.ticket_types.filter(price=0).exists())
    invoiced, paid = [event for event in upcoming if event.ticket_types.filter(price__gt=0)][:2]
    attendee = {"attendee_name": member.legal_name, "attendee_email": member.email}
    confirmed = services.place_hold(
        event=free,
        purchaser=member,
        tickets={free.ticket_types.filter(price=0).first().pk: 1},
        attendees=[dict(attendee)],
    )
    services.confirm_registrations(confirmed)
    held = services.place_hold(
        event=paid,
        purchaser=member,
        tickets={paid.ticket_types.filter(price__gt=0).first().pk: 1},
        attendees=[{**attendee, "wants_ce": True}],
        now=now - timedelta(seconds=5),
    )
    by_invoice = services.place_hold(
        event=invoiced,
        purchaser=member,
        tickets={invoiced.ticket_types.filter(price__gt=0).first().pk: 1},
        attendees=[{**attendee, "wants_ce": True}],
    )
    order = choose_invoice_payment(
        order_for_booking(by_invoice), po_number="", billing_name="", billing_address="1 Main St"
    )
    seat = Registration.objects.filter(booking=confirmed).first()
    paid_seat = Registration.objects.filter(booking=by_invoice).first()
    past_booking = Booking.objects.filter(purchaser=member).exclude(
        pk__in=[confirmed.pk, held.pk, by_invoice.pk]
    )
    pages = [
        "/registrations/",
        f"/registrations/bookings/{confirmed.public_id}/confirmation/",
        f"/registrations/seats/{seat.public_id}/cancel/",
        f"/registrations/seats/{seat.public_id}/transfer/",
        f"/registrations/bookings/{held.public_id}/",
        f"/registrations/bookings/{held.public_id}/attendees/",
        f"/payments/checkout/{held.public_id}/",
        f"/registrations/bookings/{by_invoice.public_id}/confirmation/",
        f"/registrations/seats/{paid_seat.public_id}/cancel/",
        f"/payments/orders/{order.public_id}/",
        invoiced.url,
        paid.url,
        "/ce/",
        "/ce/licenses/",
        "/ce/transcripts/",
        f"/ce/certificates/{certificate.code}/",
        "/certification/",
        "/certification/directory/",
        "/accounts/profile/",
        "/accounts/email/",
        "/accounts/password/change/",
        "/accounts/2fa/",
        "/accounts/delete/",
        "/accounts/reauthenticate/",
        f"/attendance/pass/{paid_seat.public_id}/",
        "/attendance/check-in/",
        f"/ce/registrations/{paid_seat.public_id}/licenses/",
        ("/no-such-page/", 404),
    ]
    if past_booking.exists():
        pages.append(f"/registrations/bookings/{past_booking.first().public_id}/confirmation/")
    return member, pages + candidate_pages(member)


def candidate_pages(member):
    """The member enrolled in every open trainer track: each step's page, once per kind."""
    urls = {
        "video": "videos/{id}/new",
        "assessment": "assessment/{id}",
        "evidence": "evidence/{id}",
    }
    pages = []
    for track in Track.objects.all():
        if not track.is_open:
            continue
        enrolment = enrol(track, member)
        for requirement in track.requirements.all():
            step = urls.get(requirement.kind)
            if step:
                pages.append(
                    f"/certification/enrolments/{enrolment.public_id}/"
                    f"{step.format(id=requirement.pk)}/"
                )
                urls.pop(requirement.kind)
    assert pages, "the demo has no open trainer track with a video, assessment or evidence step"
    return pages


def certified_trainer_pages():
    """A demo certified trainer listed in the directory: their dashboard and their entry."""
    credential = Credential.objects.select_related("enrolment__candidate").first()
    return credential.enrolment.candidate, ["/certification/", "/certification/directory/my-entry/"]


def ce_administrator_pages(member):
    """The CE dashboard and the screens it links to, for the finished demo conference."""
    certificate = Certificate.objects.filter(attendee=member).select_related("event").first()
    event = certificate.event
    pages = [
        "/admin/",
        "/admin/ce/",
        f"/admin/ce/events/{event.pk}/",
        f"/admin/ce/events/{event.pk}/evaluation/",
        f"/admin/ce/certificates/{certificate.code}/",
        "/admin/ce/transcripts/",
        "/admin/ce/transcripts/?q=a",
        f"/admin/ce/transcripts/{member.pk}/",
        "/accounts/2fa/",
    ]
    for offering in event.ce_offerings.select_related("body"):
        pages.append(f"/admin/ce/events/{event.pk}/ce-broker/{offering.body_id}/")
    return pages


def superuser_pages(member):
    """The demo staff account (all roles): admin home, finance and the check-in screens."""
    order = Order.objects.filter(purchaser=member).first()
    upcoming = EventPage.objects.live().filter(starts_at__gt=timezone.now()).first()
    return [
        "/admin/",
        "/admin/finance/orders/",
        "/admin/finance/orders/revenue/",
        f"/admin/finance/orders/{order.public_id}/",
        "/attendance/",
        f"/attendance/events/{upcoming.pk}/",
    ]


def links_off_this_site(page, served):
    """Absolute links to this site (a local host name, or the served host) on another port."""
    text = unquote(html.unescape(page.content()))
    served_parts = urlsplit(served)
    wrong = set()
    for url in ABSOLUTE_URL.findall(text):
        parts = urlsplit(url)
        try:
            host = parts.hostname
        except ValueError:
            continue
        if host in LOCAL_HOSTS | {served_parts.hostname} and parts.netloc != served_parts.netloc:
            wrong.add(url)
    return sorted(wrong)


# Content cut off at the right edge without the page scrolling: an element reaching past the
# viewport inside a container that hides its overflow (Wagtail's admin <main> does), unless a
# container on the way scrolls sideways (a labelled table region) or it is visually hidden.
# Checked on the site's pages only: Wagtail's admin (/admin/) hides sideways overflow in its
# <main> at phone width, and its screens are checked for page overflow and axe.
CLIPPED = """() => {
    const limit = document.documentElement.clientWidth;
    const clipped = [];
    for (const el of document.body.querySelectorAll("*")) {
        const box = el.getBoundingClientRect();
        if (box.width < 2 || box.height < 2) continue;
        if (box.right <= limit + 1 || box.left >= limit) continue;
        const style = getComputedStyle(el);
        if (style.visibility === "hidden" || style.position === "fixed") continue;
        let ancestor = el.parentElement, scrolls = false, hides = false;
        while (ancestor && ancestor !== document.body) {
            const overflow = getComputedStyle(ancestor).overflowX;
            if (overflow === "auto" || overflow === "scroll") { scrolls = true; break; }
            if (overflow === "hidden" || overflow === "clip") hides = true;
            ancestor = ancestor.parentElement;
        }
        if (scrolls || !hides) continue;
        if (el.parentElement.getBoundingClientRect().right > limit + 1) continue;
        const classes = typeof el.className === "string" && el.className
            ? "." + el.className.trim().split(/\\s+/).join(".") : "";
        clipped.push(`${el.tagName.toLowerCase()}${el.id ? "#" + el.id : ""}${classes}`
            + ` (right edge ${Math.round(box.right)} px)`);
        if (clipped.length >= 4) break;
    }
    return clipped;
}"""


def check_page(page, path, width_name, served, who, must_say=()):
    """Every problem on one page at one width, as lines naming the page and width.

    `path` is a path, or (path, expected status) for a page that must answer otherwise."""
    path, expected = path if isinstance(path, tuple) else (path, 200)
    where = f"{who} {path} at {width_name} ({WIDTHS[width_name][0]} px)"
    try:
        response = page.goto(path)
    except PlaywrightError as error:
        return [f"{where}: the browser could not open it ({error.message.splitlines()[0]})"]
    page.wait_for_load_state("load")
    problems = []
    if response is None or response.status != expected:
        status = response.status if response is not None else "no response"
        return [f"{where}: HTTP {status}"]
    landed = urlsplit(page.url)
    wanted = urlsplit(path)
    if landed.path != wanted.path:
        problems.append(f"{where}: redirected to {landed.path}")
    overflow = page.evaluate(OVERFLOW)
    if overflow:
        problems.append(
            f"{where}: scrolls sideways (scrollWidth {overflow['scrollWidth']} > "
            f"{overflow['clientWidth']}); too wide: {', '.join(overflow['culprits'])}"
        )
    clipped = [] if wanted.path.startswith("/admin/") else page.evaluate(CLIPPED)
    if clipped:
        problems.append(f"{where}: cut off at the right edge: {', '.join(clipped)}")
    for violation in axe_violations(page, impacts=AXE_IMPACTS):
        if (path, violation["id"]) in UPSTREAM:
            continue
        problems.append(
            f"{where}: axe {violation['impact']} {violation['id']} ({violation['help']}) "
            f"at {violation['targets']}"
        )
    text = " ".join(page.locator("body").inner_text().split())
    for statement in must_say:
        if " ".join(str(statement).split()) not in text:
            problems.append(f"{where}: does not say {statement!r}")
    for url in links_off_this_site(page, served):
        problems.append(f"{where}: link on the wrong address {url} (served from {served})")
    return problems


def walk(page, paths, served, who, must_say=None):
    problems = []
    for width_name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        for path in paths:
            statements = (must_say or {}).get(path, ())
            problems += check_page(page, path, width_name, served, who, statements)
    return problems


def test_every_page_fits_phone_and_desktop_passes_axe_and_links_to_the_served_address(
    page, demo_site
):
    must_say = what_event_pages_state()
    assert any(must_say.values()), "no upcoming event states a refund policy or a CE approval"
    problems = walk(page, public_pages(), demo_site, "anonymous", must_say)

    member, member_pages = prepare_member()
    log_in_browser(page, member)
    problems += walk(page, member_pages, demo_site, f"member {member.email}")

    page.context.clear_cookies()
    trainer, trainer_pages = certified_trainer_pages()
    log_in_browser(page, trainer)
    problems += walk(page, trainer_pages, demo_site, f"certified trainer {trainer.email}")

    page.context.clear_cookies()
    staff = make_staff_in_role(CE_ADMINISTRATOR, email="ce.admin@example.org")
    log_in_browser(page, staff, second_factor=True)
    problems += walk(page, ce_administrator_pages(member), demo_site, "CE administrator")

    page.context.clear_cookies()
    log_in_browser(page, User.objects.get(email="staff@example.org"), second_factor=True)
    problems += walk(page, superuser_pages(member), demo_site, "demo staff (superuser)")

    assert problems == [], f"{len(problems)} problems:\n" + "\n".join(problems)
