"""What attendees, the public and staff see: certificates, verification, denials, rosters."""

import hashlib
import io
import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import xlrd
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from certification import badges, services
from certification import demo as certification_demo
from certification.factories import (
    make_body,
    make_event,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.models import (
    CEOffering,
    CertificateStatus,
    CreditBasis,
    EvaluationQuestion,
    EvaluationResponse,
    License,
    QuestionKind,
)
from cms.roles import CE_ADMINISTRATOR, EVENT_MANAGER
from courses import attendance
from courses import demo as courses_demo
from courses.factories import UserFactory, register_with_ce
from courses.models import EventPage
from tests.accounts_support import log_in_with_second_factor, make_staff_with_totp

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()


def staff(client, role, email):
    user, _secret = make_staff_with_totp(email=email)
    user.groups.add(Group.objects.get(name=role))
    log_in_with_second_factor(client, user)
    return user


@pytest.fixture
def event():
    make_sponsor()
    event = make_event("Measuring What Matters")
    make_offering(event, make_body("APA"))
    make_offering(
        event,
        make_body(
            "FL 491",
            name="Florida Board of Clinical Social Work, MFT and Mental Health Counseling",
            provider_number="50-SAMPLE1",
            jurisdiction="FL",
            reports_to_ce_broker=True,
            license_number_pattern=r"^(SW|MH|MT|ISW|IMH|IMT)\d{3,7}$",
            ce_broker_profession_codes={"LCSW": "1801", "LMHC": "1802"},
            minutes_per_credit=50,
            credit_basis=CreditBasis.FULL_PROGRAM,
        ),
        course_number="20-123456",
    )
    return event


def certified(event, name, email, **registration_fields):
    user = make_user(email, name)
    registration = make_registration(event, name=name, user=user, **registration_fields)
    for session in event.sessions.all():
        attendance.check_in(registration, session, at=session.start)
    EvaluationResponse.objects.create(registration=registration, event=event)
    return user, services.issue_certificate(registration, notify=False)


def test_owner_downloads_the_pdf_with_a_name_in_its_own_script(client, event):
    user, certificate = certified(event, "王小明", "wang@example.org")
    client.force_login(user)

    page = client.get(reverse("certification:certificate_detail", args=[certificate.code]))
    assert "王小明" in page.content.decode()
    assert "linkedin.com/profile/add?startTask=CERTIFICATION_NAME" in page.content.decode()

    response = client.get(reverse("certification:certificate_pdf", args=[certificate.code]))
    assert response.status_code == 200
    disposition = response["Content-Disposition"]
    assert f'filename="CE-certificate-{certificate.code}.pdf"' in disposition
    assert "filename*=UTF-8''CE%20certificate%20%E7%8E%8B%E5%B0%8F%E6%98%8E" in disposition
    assert PdfReader(io.BytesIO(response.content)).pages[0].extract_text()


def test_another_users_certificate_is_not_found(client, event):
    _owner, certificate = certified(event, "Ana Souza", "ana@example.org")
    client.force_login(make_user("eve@example.org", "Eve"))
    for name in ("certification:certificate_pdf", "certification:certificate_detail"):
        response = client.get(reverse(name, args=[certificate.code]))
        assert response.status_code == 404

    client.logout()
    response = client.get(reverse("certification:certificate_pdf", args=[certificate.code]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_ce_administrator_may_download_any_certificate(client, event):
    _owner, certificate = certified(event, "Ana Souza", "ana@example.org")
    staff(client, CE_ADMINISTRATOR, "ce@example.org")
    response = client.get(reverse("certification:certificate_pdf", args=[certificate.code]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"


def test_verification_page_shows_only_name_program_date_and_hours(client, event):
    _user, certificate = certified(
        event, "<script>x</script> Ana", "ana@example.org", license_number="SW1234"
    )
    page = client.get(reverse("certification:verify", args=[certificate.code])).content.decode()
    assert "Valid." in page
    assert "&lt;script&gt;x&lt;/script&gt; Ana" in page and "<script>x</script>" not in page
    assert "Measuring What Matters" in page and certificate.program_dates in page
    assert "hours (60-minute hours) – American Psychological Association (APA)" in page
    assert "SW1234" not in page and "ana@example.org" not in page


def test_superseded_links_to_the_current_and_revoked_says_so(client, event):
    _user, certificate = certified(event, "Ana Souza", "ana@example.org")
    admin = make_user("ce@example.org", "CE Admin")
    replacement = services.reissue_certificate(certificate, actor=admin, note="Typo")

    page = client.get(reverse("certification:verify", args=[certificate.code])).content.decode()
    assert "Superseded." in page
    assert reverse("certification:verify", args=[replacement.code]) in page

    services.revoke_certificate(replacement, actor=admin, reason="Fraud")
    page = client.get(reverse("certification:verify", args=[replacement.code])).content.decode()
    assert "Revoked." in page and "Fraud" not in page


def test_unknown_and_malformed_ids_are_a_plain_not_found_and_rate_limited(client, event):
    for code in ("CE-0000-0000-0000-0000", "not-a-code", "CE-' OR 1=1"):
        response = client.get(reverse("certification:verify", args=[code]))
        assert response.status_code == 404
        assert "We have no certificate with the ID you entered." in response.content.decode()
    statuses = [
        client.get(reverse("certification:verify", args=["CE-0000-0000-0000-0001"])).status_code
        for _ in range(70)
    ]
    assert statuses[-1] == 429


def test_open_badge_json(client, event):
    _user, certificate = certified(event, "Ana Souza", "ana@example.org")
    response = client.get(reverse("certification:open_badge", args=[certificate.code]))
    badge = json.loads(response.content)
    assert badge["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert badge["credentialSubject"]["type"] == ["AchievementSubject"]
    assert badge["credentialSubject"]["achievement"]["name"] == "Measuring What Matters"
    # APA's 5.00 sixty-minute hours and Florida's 6.00 fifty-minute hours have no one total.
    assert "creditsEarned" not in badge["credentialSubject"]
    assert "ana@example.org" not in response.content.decode()


def _sha256_identity(email, salt):
    return "sha256$" + hashlib.sha256((email + salt).encode("utf-8")).hexdigest()


def test_open_badge_identity_cannot_be_confirmed_from_public_data(client, event):
    user, certificate = certified(event, "Ana Souza", "ana@example.org")
    url = reverse("certification:open_badge", args=[certificate.code])

    # The public copy names no earner: nothing to test a guessed address against.
    public = client.get(url)
    assert "identifier" not in json.loads(public.content)["credentialSubject"]
    assert "salt" not in public.content.decode()
    assert _sha256_identity("ana@example.org", certificate.code) not in public.content.decode()

    # The holder's own download proves the address with a salt that is not the public code.
    client.force_login(user)
    mine = client.get(url)
    assert mine["Cache-Control"] == "private, no-store"
    identity = json.loads(mine.content)["credentialSubject"]["identifier"][0]
    assert identity["type"] == "IdentityObject"
    assert identity["identityType"] == "emailAddress" and identity["hashed"] is True
    salt = identity["salt"]
    assert certificate.code not in salt and len(salt) == 64
    assert identity["identityHash"] == _sha256_identity("ana@example.org", salt)
    # A guessed address hashed with the public certificate code no longer matches.
    assert identity["identityHash"] != _sha256_identity("ana@example.org", certificate.code)
    assert identity["identityHash"] != _sha256_identity("bob@example.org", salt)
    # The salt is stable for the certificate, and differs between certificates.
    assert json.loads(client.get(url).content)["credentialSubject"]["identifier"][0] == identity
    _other_user, other = certified(event, "Bo Other", "bo@example.org")
    assert badges.identity_salt(other) != salt

    # Someone else logged in gets the public copy.
    client.force_login(make_user("eve@example.org", "Eve"))
    assert "identifier" not in json.loads(client.get(url).content)["credentialSubject"]


def test_evaluation_required_fields_and_submission(client, event):
    user = make_user("eval@example.org", "Eva Luation")
    registration = make_registration(event, name="Eva Luation", user=user)
    rating = EvaluationQuestion.objects.create(
        event=event, kind=QuestionKind.RATING, prompt="Overall quality"
    )
    EvaluationQuestion.objects.create(
        event=event, kind=QuestionKind.TEXT, prompt="Comments", required=False
    )
    client.force_login(user)
    url = reverse("certification:evaluation", args=[registration.public_id])

    page = client.post(url, {})
    assert "This field is required." in page.content.decode()
    assert not EvaluationResponse.objects.exists()

    response = client.post(url, {f"q{rating.pk}": "5"})
    assert response.status_code == 302
    assert EvaluationResponse.objects.get().answers.get().rating == 5

    client.force_login(make_user("other@example.org", "Other"))
    assert client.get(url).status_code == 404

    staff(client, CE_ADMINISTRATOR, "ce@example.org")
    results = client.get(reverse("certification_admin:evaluation", args=[event.pk]))
    assert "Average 5.0 of 5" in results.content.decode()
    export = client.get(reverse("certification_admin:evaluation", args=[event.pk]) + "?format=csv")
    assert "Eva Luation" in export.content.decode("utf-8")


def test_licenses_are_private_to_their_owner(client):
    user = make_user("lic@example.org", "Lic Holder")
    client.force_login(user)
    client.post(
        reverse("certification:licenses"),
        {"profession": "LCSW", "jurisdiction": "FL", "number": "sw1234"},
    )
    license_ = License.objects.get(user=user)
    assert license_.number == "SW1234"
    client.force_login(make_user("nosy@example.org", "Nosy"))
    assert client.get(reverse("certification:license_edit", args=[license_.pk])).status_code == 404
    assert (
        client.post(reverse("certification:license_delete", args=[license_.pk])).status_code == 404
    )
    assert License.objects.filter(pk=license_.pk).exists()


def test_my_ce_transcript_csv_and_pdf(client, event):
    user, certificate = certified(event, "Ana Souza", "ana@example.org")
    client.force_login(user)
    page = client.get(reverse("certification:my_ce")).content.decode()
    assert certificate.code in page and "Hours per accrediting body" in page
    csv_text = client.get(reverse("certification:my_transcript_csv")).content.decode("utf-8-sig")
    assert csv_text.splitlines()[0].startswith("Certificate ID,Program")
    assert certificate.code in csv_text
    data = client.get(reverse("certification:my_transcript_pdf")).content
    text = " ".join(PdfReader(io.BytesIO(data)).pages[0].extract_text().split())
    assert "Measuring What Matters" in text and certificate.code in text


def test_ce_admin_screens_are_refused_to_other_roles(client, event):
    staff(client, EVENT_MANAGER, "events@example.org")
    for url in (
        reverse("certification_admin:index"),
        reverse("certification_admin:event", args=[event.pk]),
        reverse("certification_admin:transcripts"),
        reverse("ce_accrediting_bodies:index"),
    ):
        assert client.get(url).status_code in (302, 403), url
        assert "Measuring What Matters" not in client.get(url).content.decode()


def test_issuing_screen_shows_each_status_and_issues_in_bulk(
    client, event, django_capture_on_commit_callbacks
):
    ready = make_registration(event, name="Ready Rita")
    late = make_registration(event, name="Late Lou")
    for session in event.sessions.all():
        attendance.check_in(ready, session, at=session.start)
        attendance.check_in(late, session, at=session.start + timedelta(minutes=20))
    EvaluationResponse.objects.create(registration=ready, event=event)
    staff(client, CE_ADMINISTRATOR, "ce@example.org")

    page = client.get(reverse("certification_admin:event", args=[event.pk])).content.decode()
    assert "Eligible" in page and "Short attendance" in page
    assert "missed 20 minutes of session 1" in page

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("certification_admin:event", args=[event.pk]),
            {"registration": [ready.pk, late.pk]},
        )
    job_page = client.get(response["Location"]).content.decode()
    assert "2 of 2" in job_page and "1 certificate(s) issued" in job_page
    assert "Late Lou is not eligible" in job_page
    assert ready.certificates.get().status == CertificateStatus.ISSUED


def test_ce_broker_roster_layout_and_refused_rows(client, event):
    certified(
        event,
        "Valid Val",
        "val@example.org",
        license_number="SW12345",
        license_jurisdiction="FL",
        profession="LCSW",
    )
    _tim, typo = certified(
        event,
        "Typo Tim",
        "tim@example.org",
        license_number="12-345",
        license_jurisdiction="FL",
        profession="LCSW",
    )
    certified(
        event, "Ohio Olga", "olga@example.org", license_number="C123", license_jurisdiction="OH"
    )
    admin = staff(client, CE_ADMINISTRATOR, "ce@example.org")
    body = event.ce_offerings.get(body__short_name="FL 491").body
    url = reverse("certification_admin:ce_broker", args=[event.pk, body.pk])

    page = client.get(url).content.decode()
    assert "Typo Tim" in page and "“12-345” is not a valid FL 491 license number" in page
    assert "Ohio Olga" in page and "no FL license" in page
    # A malformed license number stops the whole export until it is fixed.
    assert client.post(url).status_code == 302

    services.revoke_certificate(typo, actor=admin, reason="Wrong license number")
    book = xlrd.open_workbook(file_contents=client.post(url).content)
    sheet = book.sheet_by_index(0)
    assert sheet.nrows == 1
    completed = event.local(event.ends_at).date()
    values = sheet.row_values(0)
    assert xlrd.xldate_as_datetime(values[5], book.datemode).date() == completed
    assert values[:5] + values[6:] == [
        "SAMPLE1",  # provider number without "50-"
        "123456",  # course number without "20-"
        "",
        "",
        "SW12345",
        "State=FL",
        "Profession=1801",
    ]

    csv_text = client.get(
        reverse("certification_admin:attendance_roster", args=[event.pk, body.pk])
    ).content.decode("utf-8-sig")
    assert "Valid Val" in csv_text and "Typo Tim" in csv_text


def test_ce_admin_reissues_and_revokes_from_the_certificate_screen(client, event):
    _user, certificate = certified(event, "Jon Smtih", "jon@example.org")
    registration = certificate.registration
    registration.attendee_name = "Jon Smith"
    registration.save()
    staff(client, CE_ADMINISTRATOR, "ce@example.org")
    url = reverse("certification_admin:certificate", args=[certificate.code])

    page = client.post(url, {"action": "reissue", "note": ""}).content.decode()
    assert "This field is required." in page
    response = client.post(url, {"action": "reissue", "note": "Surname misspelt"}, follow=True)
    page = response.content.decode()
    replacement = registration.certificates.get(status=CertificateStatus.ISSUED)
    assert f"Reissued as {replacement.code}" in page and "Jon Smith" in page
    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.SUPERSEDED

    new_url = reverse("certification_admin:certificate", args=[replacement.code])
    client.post(new_url, {"action": "revoke", "reason": "Entered for the wrong event"})
    replacement.refresh_from_db()
    assert replacement.status == CertificateStatus.REVOKED

    person = client.get(reverse("certification_admin:person", args=[_user.pk])).content.decode()
    assert certificate.code in person and replacement.code in person
    transcript = client.get(
        reverse("certification_admin:person", args=[_user.pk]) + "?format=csv"
    ).content.decode("utf-8-sig")
    assert replacement.code not in transcript  # only valid certificates count


def test_my_ce_says_an_upcoming_webinar_is_assessed_after_the_event(client):
    out = io.StringIO()
    courses_demo.load_demo_content(out)
    certification_demo.load_demo_content(out)
    certification_demo.load_demo_content(out)  # a second run adds no second offering
    webinar = EventPage.objects.get(title=courses_demo.WEBINAR_TITLE)
    assert sorted(webinar.ce_offerings.values_list("hours", flat=True)) == [Decimal("1.5")] * 4
    user = UserFactory(email="clinician@example.org", legal_name="Casey Clinician")
    register_with_ce(webinar, user)
    client.force_login(user)

    page = client.get("/ce/").content.decode()

    assert courses_demo.WEBINAR_TITLE in page
    assert "Upcoming" in page and "CE is assessed after the event." in page
    assert "Short attendance" not in page
    assert "offers no CE credit" not in page


def test_my_ce_in_progress_and_no_offering_are_not_short_attendance(client):
    now = timezone.now()
    running = make_event("Running Workshop", starts=now - timedelta(minutes=30))
    CEOffering.objects.create(event=running, body=make_body("APA"), hours=Decimal("6"))
    no_ce = make_event("Social Evening", starts=now - timedelta(days=3))
    assert running.starts_at <= now < running.ends_at
    user = UserFactory(email="clinician@example.org", legal_name="Casey Clinician")
    make_registration(running, user=user)
    make_registration(no_ce, user=user)
    client.force_login(user)

    page = client.get("/ce/").content.decode()

    assert "In progress" in page and "CE is assessed after the event." in page
    assert "No CE credit" in page and "This event offers no CE credit." in page
    assert "Short attendance" not in page


def test_registration_licenses_page_names_the_jurisdiction(client):
    event = make_event("Measuring What Matters")
    user = UserFactory(email="clinician@example.org", legal_name="Casey Clinician")
    registration = make_registration(
        event,
        user=user,
        license_number="12345",
        license_jurisdiction="OTHER_US",
        profession="LCSW",
    )
    client.force_login(user)

    page = client.get(
        reverse("certification:registration_licenses", args=[registration.public_id])
    ).content.decode()

    assert "Another U.S. state #12345" in page
    assert "OTHER_US" not in page


def _title(page):
    return re.search(r"<title>\s*(.*?)\s*</title>", page, re.S).group(1)


def test_ce_admin_screens_have_a_browser_tab_title(client, staff_signed_in):
    event = make_event("Measuring What Matters")
    staff_signed_in(CE_ADMINISTRATOR, email="ce@example.org")
    assert _title(client.get("/admin/ce/").content.decode()).startswith("Continuing education")
    assert _title(client.get(f"/admin/ce/events/{event.pk}/").content.decode()).startswith(
        "CE: Measuring What Matters"
    )
    assert _title(client.get("/admin/ce/transcripts/").content.decode()).startswith(
        "CE transcripts"
    )


def test_my_ce_never_points_at_an_evaluation_that_is_not_there(client, event):
    """APA asks for an evaluation, but staff have not written its questions yet."""
    user = make_user("waiting@example.org", "Wanda Waiting")
    registration = make_registration(event, name="Wanda Waiting", user=user)
    for session in event.sessions.all():
        attendance.check_in(registration, session, at=session.start)
    client.force_login(user)

    page = re.sub(r"\s+", " ", client.get("/ce/").content.decode())

    assert "Missing evaluation" in page
    assert "the evaluation is not open yet. It will appear here for you to complete" in page
    assert "complete the evaluation below" not in page
    assert "Complete the evaluation</a>" not in page

    EvaluationQuestion.objects.create(event=event, kind=QuestionKind.RATING, prompt="Overall")
    page = re.sub(r"\s+", " ", client.get("/ce/").content.decode())
    assert "complete the evaluation below; your certificate follows." in page
    assert "Complete the evaluation</a>" in page
