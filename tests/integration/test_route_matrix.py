"""Every route of the URLconf, requested by every kind of visitor, answers as it declares.

The routes come from walking `cms.urls`, not from a list kept by hand: a new URL is covered the
day it is added, and a route without a declared rule (`cms.access`) fails here.

Visitors: an anonymous visitor; the member who owns the objects in the routes; a second member
who does not; and each staff role in three states: with a second factor in this session,
without any authenticator, and with an authenticator that this session did not use (logged in
before it was set up). Routes with object ids use objects owned by the first member.

Wagtail's own admin screens are walked for every visitor except the staff who completed their
second factor: for them, Wagtail's per-model permissions decide, and the project's admin
screens (its viewsets and views) are walked in full instead, plus the dashboard as a sample.
"""

import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import pyotp
import pytest
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve
from django.urls.exceptions import Resolver404
from django.utils import timezone

from certification import factories as ce_factories
from certification.models import Certificate, IssueJob, License
from certification.signing import signing_key
from certification.trainers.models import Credential, ReviewerAssignment
from cms.access import Perm, rule_for_callback
from cms.roles import STAFF_ROLES
from courses.attendance import check_in_token
from courses.models import Material, MembershipPlan, SessionAttendance, WaitlistEntry, ZoomImport
from payments.models import FinanceDocument, MembershipPayment, Order
from tests.accounts_support import log_in_with_second_factor, make_member
from tests.trainers_support.builders import build_track, start_submission
from tests.watching_support import make_recording

pytestmark = pytest.mark.django_db

PARAMETER = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>\w+)>")
PLACEHOLDER_ID = 987654


# -- the visitors -----------------------------------------------------------------------------


@dataclass
class Visitor:
    label: str
    client: Client
    user: object = None
    owner: bool = False
    state: str = ""  # for staff: "verified", "no_device" or "no_record"

    def holds(self, permissions):
        return self.user is not None and any(self.user.has_perm(p) for p in permissions)


def _role_user(role, state):
    user = make_member(f"{role.lower().replace(' ', '-')}-{state}@example.org", f"{role} {state}")
    user.groups.add(Group.objects.get(name=role))
    client = Client(raise_request_exception=False)
    if state == "verified":
        log_in_with_second_factor(client, user)
    else:
        if state == "no_record":
            TOTP.activate(user, pyotp.random_base32())
        client.force_login(user)
    return Visitor(f"{role} ({state})", client, user, state=state)


VISITORS = ["anonymous", "owner", "other member"] + [
    f"{role}|{state}" for role in STAFF_ROLES for state in ("verified", "no_device", "no_record")
]


def make_visitor(kind, owner):
    if kind == "anonymous":
        return Visitor(kind, Client(raise_request_exception=False))
    if kind == "owner":
        client = Client(raise_request_exception=False)
        client.force_login(owner)
        return Visitor(kind, client, owner, owner=True)
    if kind == "other member":
        other = make_member("other@example.org", "Olga Other")
        client = Client(raise_request_exception=False)
        client.force_login(other)
        return Visitor(kind, client, other)
    role, state = kind.split("|")
    return _role_user(role, state)


# -- the world the routes point into ----------------------------------------------------------


def build_world(owner, visitor):
    """One of each private object, all owned by `owner`; returns values per route parameter."""
    event = ce_factories.make_event()
    session = event.sessions.first()
    registration = ce_factories.make_registration(event, user=owner, email=owner.email)
    booking = registration.booking
    booking.purchaser = owner
    booking.save(update_fields=["purchaser"])
    registration.invitation_token = "claim-token-0123456789"
    registration.save(update_fields=["invitation_token"])
    body = ce_factories.make_body()
    ce_factories.make_offering(event, body)
    order = Order.objects.create(booking=booking, event=event, purchaser=owner, email=owner.email)
    document = FinanceDocument.objects.create(
        order=order,
        kind="receipt",
        year=2026,
        sequence=1,
        number="R-2026-0001",
        amount=0,
        currency="USD",
    )
    certificate = Certificate.objects.create(
        registration=registration,
        event=event,
        attendee=owner,
        attendee_name=owner.legal_name,
        program_title=event.title,
        program_dates="1 December 2026",
        program_format="In person",
        completed_on=timezone.localdate(),
        total_hours=3,
        sponsor_name="Heart and Soul",
        issue_date=timezone.localdate(),
    )
    certificate.pdf_path = storages["private"].save(
        "certificates/matrix.pdf", ContentFile(b"%PDF-1.4 certificate")
    )
    certificate.save(update_fields=["pdf_path"])
    job = IssueJob.objects.create(event=event)
    license_ = License.objects.create(
        user=owner, profession="psychologist", jurisdiction="FL", number="PY1234"
    )
    entry = WaitlistEntry.objects.create(
        event=event, user=owner, claim_token="waitlist-token-0123456789"
    )
    attendance = SessionAttendance.objects.create(
        registration=registration, session=session, checked_in_at=timezone.now()
    )
    zoom = ZoomImport.objects.create(
        event=event, filename="report.csv", file_sha256="0" * 64, status="done"
    )
    material = Material.objects.create(event=event, title="Slides")
    material.file.save("slides.pdf", ContentFile(b"%PDF-1.4 slides"), save=True)
    recording = make_recording(event)
    track = build_track()
    submission = start_submission(track, owner)
    enrolment = submission.enrolment
    credential = Credential.objects.create(
        number="FIT-CT-0001",
        enrolment=enrolment,
        holder_name=owner.legal_name,
        title="Trainer",
        pdf_name=storages["private"].save("credentials/matrix.pdf", ContentFile(b"%PDF-1.4")),
    )
    member_group = Group.objects.get_or_create(name="Members")[0]
    plan = MembershipPlan.objects.create(name="Member site", price=12000, group=member_group)
    membership_payment = MembershipPayment.objects.create(
        user=owner,
        plan=plan,
        method="invoice",
        status="invoiced",
        amount=12000,
        currency="USD",
        invoice_number="INV-2026-99999",
    )
    membership_payment.invoice_file.save("matrix.pdf", ContentFile(b"%PDF-1.4"), save=True)
    if visitor.holds([Perm.REVIEW_SUBMISSION]):
        ReviewerAssignment.objects.create(
            submission=submission, reviewer=visitor.user, due_at=timezone.now() + timedelta(7)
        )
    by_section = {
        "bookings": booking.public_id,
        "checkout": booking.public_id,
        "seats": registration.public_id,
        "registrations": registration.public_id,
        "evaluation": registration.public_id,
        "post-test": registration.public_id,
        "pass": registration.public_id,
        "enrolments": enrolment.public_id,
        "videos": submission.public_id,
        "reviews": submission.public_id,
        "orders": order.public_id,
        "documents": document.public_id,
        "invoices": membership_payment.public_id,
    }
    values = {
        "event_id": event.pk,
        "session_id": session.pk,
        "body_id": body.pk,
        "booking_id": booking.pk,
        "registration_id": registration.pk,
        "requirement_id": submission.requirement_id,
        "material_id": material.pk,
        "recording_id": recording.pk,
        "entry_id": entry.pk,
        "user_id": owner.pk,
        "enrolment_id": enrolment.pk,
        "order_id": order.public_id,
        "document_id": document.public_id,
        "slug": track.slug,
        "number": credential.number,
        "extension": "csv",
        "action": "check-in",
        "upload_id": uuid.uuid4(),
        "payment_id": membership_payment.public_id,
        "kind": "invoice",
        # The public key that signs Open Badges (the JWT's kid names this address).
        "thumbprint": signing_key().thumbprint,
    }
    requirements = {r.kind: r.pk for r in track.requirements.all()}
    by_route = {
        "ce/licenses/": license_.pk,
        "attendance/zoom/": zoom.pk,
        "attendance/entries/": attendance.pk,
        "ce/jobs/": job.pk,
        "ce/certificates/": certificate.code,
        "registrations/claim/": registration.invitation_token,
        "registrations/waitlist/": entry.claim_token,
        "verify/": certificate.code,
        "course_registrations/edit/": registration.pk,
        "course_registrations/inspect/": registration.pk,
        "course_waitlist/edit/": entry.pk,
        "course_waitlist/inspect/": entry.pk,
        "course_materials/edit/": material.pk,
        "course_materials/delete/": material.pk,
        "attendance/scan/": check_in_token(registration),
    }
    return by_section, values, by_route, requirements


def fill(route, world):
    """The route with each parameter replaced; `real` says whether every value is an object."""
    by_section, values, by_route, requirements = world
    real = True

    def value(match):
        nonlocal real
        name = match["name"]
        before = route[: match.start()]
        section = before.rstrip("/").rsplit("/", 1)[-1]
        for prefix, found in by_route.items():
            if before.endswith(prefix) and name in ("pk", "code", "token", "public_id"):
                return str(found)
        if name == "requirement_id":
            return str(requirements.get(section, values[name]))
        if name == "public_id" and section in by_section:
            return str(by_section[section])
        if name in ("booking_id",) and match["converter"] == "uuid":
            return str(by_section["checkout"])
        if name in values:
            return str(values[name])
        real = False
        if match["converter"] == "uuid":
            return str(uuid.uuid4())
        if match["converter"] in ("str", "slug", None):
            return "unknown"
        return str(PLACEHOLDER_ID)

    return PARAMETER.sub(value, route), real


# -- the routes --------------------------------------------------------------------------------

# Regular-expression routes, written out as a request path.
REGEX_PATHS = {
    r"accounts/^confirm-email/(?P<key>[-:\w]+)/$": "accounts/confirm-email/not-a-key/",
    r"accounts/^password/reset/key/(?P<uidb36>[0-9A-Za-z]+)-(?P<key>.+)/$": (
        "accounts/password/reset/key/1-not-a-key/"
    ),
    r"documents/^(\d+)/(.*)$": f"documents/{PLACEHOLDER_ID}/file.pdf",
    r"^((?:[\w\-]+/)*)$": "",
    r"admin/^.*/$": "admin/no-such-screen/",
    r"admin/pages/^(\d+)/revisions/compare/(live|earliest|\d+)\.\.\.(live|latest|\d+)/$": (
        "admin/pages/2/revisions/compare/earliest...live/"
    ),
}


def routes():
    """(route text, view) for every pattern of the URLconf, depth first."""

    def walk(resolver, prefix):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                yield prefix + str(pattern.pattern), pattern.callback

    return list(walk(get_resolver(), ""))


def request_path(route, world):
    if route in REGEX_PATHS:
        return "/" + REGEX_PATHS[route], False
    path, real = fill(route.replace("^", "").replace("$", ""), world)
    return "/" + path, real


# -- what each answer must be ------------------------------------------------------------------


def _location(response):
    return response.get("Location", "") if response.status_code in (301, 302, 303) else ""


def to_login(response):
    return _location(response).startswith("/accounts/login/")


def to_step_up(response, state):
    target = "/accounts/2fa/reauthenticate/" if state == "no_record" else "/accounts/2fa/totp/"
    return _location(response).startswith(target)


def refused(response):
    """Refusal without revealing anything: 403/404, or Wagtail's redirect to its dashboard."""
    location = _location(response)
    return (
        response.status_code in (403, 404)
        or location in ("/admin/", "/")
        or (location.startswith("/admin/login/"))
    )


def granted(response, real):
    """Let through: not refused, not sent to log in or to a second factor."""
    location = _location(response)
    if location.startswith(("/accounts/login/", "/accounts/2fa/")) or location == "/admin/":
        return False
    if response.status_code == 403:
        return False
    return response.status_code != 404 or not real


# Wagtail serves its icon sprite and admin translations to anyone: no data in them.
WAGTAIL_ADMIN_ASSETS = {"/admin/sprite/", "/admin/jsi18n/"}


def check(rule, visitor, path, response, real):
    """None when the answer matches the rule for this visitor, else what was expected."""
    status = response.status_code
    if status >= 500:
        return "no server error"
    audience = rule.audience
    anonymous = visitor.user is None
    if audience in ("public", "secret_link", "webhook"):
        return None
    if audience == "admin" and path in WAGTAIL_ADMIN_ASSETS:
        return None
    if anonymous:
        if audience == "owner" and status in (403, 405):
            return None  # upload APIs answer 403 (or 405 to a method tus lacks), no redirect
        if audience == "admin" and (
            status == 404 or _location(response).startswith("/admin/login")
        ):
            return None  # Wagtail's disabled screens, and its login that leads to allauth
        return None if to_login(response) else "a redirect to the login page"
    if audience == "member":
        return None if not to_login(response) else "the signed-in member served"
    admin_path = path.startswith("/admin/")
    if admin_path and visitor.holds([Perm.ACCESS_ADMIN]) and visitor.state != "verified":
        return None if to_step_up(response, visitor.state) else "a second-factor step"
    if audience == "closed":
        return None if refused(response) or to_login(response) else "a refusal"
    permissions = rule.permissions
    if audience == "owner" and rule.api and not visitor.owner and 400 <= status < 500:
        return None  # an upload API answers protocol errors before it looks at the owner
    if audience == "owner" and visitor.owner:
        return None if granted(response, real) else "the owner served"
    if audience in ("owner", "staff", "admin") and visitor.holds(permissions):
        if visitor.state in ("no_device", "no_record"):
            return None if to_step_up(response, visitor.state) else "a second-factor step"
        if audience == "admin" and permissions == (Perm.ACCESS_ADMIN,):
            return None
        return None if granted(response, real) else "staff with the capability served"
    if audience == "admin" and visitor.holds([Perm.ACCESS_ADMIN]) and visitor.state != "verified":
        return None if to_step_up(response, visitor.state) else "a second-factor step"
    if path.startswith("/admin/") and to_login(response):
        return None  # Wagtail sends people without admin access to the login page
    return None if refused(response) else "a refusal (403/404)"


def wagtails_own(rule):
    return rule.audience == "admin" and rule.permissions == (Perm.ACCESS_ADMIN,)


@pytest.mark.parametrize("kind", VISITORS)
def test_every_route_answers_each_visitor_as_declared(kind):
    cache.clear()
    owner = make_member("owner@example.org", "Olu Owner")
    visitor = make_visitor(kind, owner)
    world = build_world(owner, visitor)
    undeclared, wrong = [], []
    for route, view in routes():
        path, real = request_path(route, world)
        try:
            if resolve(path).func is not view:
                continue  # shadowed by an earlier route (e.g. Wagtail's login form)
        except Resolver404:
            wrong.append(f"{route}: {path} does not resolve")
            continue
        rule = rule_for_callback(view)
        if rule is None:
            undeclared.append(route)
            continue
        if wagtails_own(rule) and visitor.state == "verified" and path != "/admin/":
            continue
        response = visitor.client.get(path)
        acting = visitor.owner or (visitor.holds(rule.permissions) and visitor.state == "verified")
        if response.status_code == 405 and not acting:
            # POST-only: the refusal must come before anything is done (nothing is done here).
            response = visitor.client.post(path, {})
        if path.endswith(("/play/", "/poster/")) and response.status_code == 404 and acting:
            continue  # the world's video was never transcoded: nothing to play, rightly 404
        problem = check(rule, visitor, path, response, real)
        if problem:
            wrong.append(
                f"{rule.audience} {path}: {response.status_code} {_location(response)}"
                f" (expected {problem})"
            )
    assert not undeclared, "routes without an access rule:\n" + "\n".join(undeclared)
    assert not wrong, f"{visitor.label}:\n" + "\n".join(wrong)


def test_a_route_without_a_declaration_is_caught():
    """The walk finds undeclared views: a plain function has no rule."""

    def undeclared_view(request):
        return None

    assert rule_for_callback(undeclared_view) is None
