"""A refunded home-study seat: the recordings, the heartbeats and the post-test are refused
with a reason, a certificate still waiting is not issued, and a certificate already issued
stays valid while Finance is told who keeps which certificate (the order joins Finance's
"needs attention" list on the admin home, and Finance gets an email)."""

import json
import re
from datetime import timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from certification import services
from certification.factories import ce_settings, make_body, make_event, make_offering
from certification.models import Certificate, CertificateStatus
from certification.services.issuing import run_issue_job
from cms.roles import CE_ADMINISTRATOR, FINANCE
from courses import services as courses
from courses.factories import UserFactory
from courses.models import RegistrationStatus, TicketType
from payments import services as payments
from payments.models import EventPaymentSettings, Order
from tests.accounts_support import log_in_with_second_factor, make_staff_in_role
from tests.integration.test_post_tests import answers_for, make_bank
from tests.watching_support import make_recording

pytestmark = pytest.mark.django_db

COURSE = "Feedback-Informed Treatment at home"


@pytest.fixture
def course():
    event = make_event(COURSE, format="on_demand")
    TicketType.objects.filter(event=event).update(price=9500)
    EventPaymentSettings.objects.create(
        event=event, invoice_payment_enabled=True, invoice_due_days=30
    )
    ce_settings(event, is_recorded=True, post_test=make_bank(randomise=False))
    make_offering(event, make_body(home_study_watched_percent=80), hours=Decimal("1.50"))
    make_recording(event, duration=100)
    return event


@pytest.fixture
def finance():
    return make_staff_in_role(FINANCE, email="finance@example.org", legal_name="Fiona Finance")


@pytest.fixture
def order(course, django_capture_on_commit_callbacks):
    """Hope's paid order for one seat, paid by invoice (bought a week ago)."""
    hope = UserFactory(email="hope@example.org", legal_name="Hope Homestudy")
    with time_machine.travel(timezone.now() - timedelta(days=7), tick=True):
        booking = courses.place_hold(
            event=course,
            purchaser=hope,
            tickets={course.ticket_types.get().pk: 1},
            attendees=[
                {"attendee_name": hope.legal_name, "attendee_email": hope.email, "wants_ce": True}
            ],
        )
        with django_capture_on_commit_callbacks(execute=True):
            order = payments.order_for_booking(booking, actor=hope)
            payments.choose_invoice_payment(
                order, po_number="", billing_name="", billing_address="1 River Road", actor=hope
            )
            payments.mark_invoice_paid(order, actor=None, reference="BACS 17")
    order.refresh_from_db()
    assert order.status == Order.Status.PAID and order.total == 9500
    return order


def seat_of(order):
    seat = order.booking.registrations.get()
    assert seat.attendee.email == "hope@example.org"
    return seat


def complete_the_course(seat):
    """Watch it all, pass the post-test and submit the evaluation."""
    recording = seat.event.recordings.get()
    at = timezone.now() - timedelta(hours=2)
    for second in range(0, 100, 20):
        at += timedelta(seconds=25)
        courses.record_heartbeat(
            seat, recording, played_from=second, played_to=second + 20, position=second, now=at
        )
    attempt = services.start_post_test(seat, actor=seat.attendee)
    answers = {key[1:]: value for key, value in answers_for(attempt, right=True).items()}
    services.submit_post_test(attempt, actor=seat.attendee, answers=answers)
    services.submit_evaluation(seat, {}, actor=seat.attendee)


def refund_in_full(order, finance, capture):
    with capture(execute=True):
        payments.refund_order(order, order.total, actor=finance, reason="Asked for a refund")
    order.refresh_from_db()
    assert order.status == Order.Status.REFUNDED


def text(html):
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def attendee_client(seat):
    client = Client()
    client.force_login(seat.attendee)
    return client


def test_a_refund_ends_watching_and_the_post_test_with_a_reason(
    order, finance, django_capture_on_commit_callbacks
):
    seat = seat_of(order)
    recording = seat.event.recordings.get()
    client = attendee_client(seat)
    assert client.get(f"/registrations/seats/{seat.public_id}/watch/").status_code == 200

    refund_in_full(order, finance, django_capture_on_commit_callbacks)

    seat.refresh_from_db()
    assert seat.status == RegistrationStatus.CANCELLED
    page = client.get(f"/registrations/seats/{seat.public_id}/watch/")
    assert page.status_code == 403
    assert (
        "This registration was cancelled (or refunded), so its recordings are no longer "
        "available." in text(page.content.decode())
    )
    assert "<video" not in page.content.decode()
    file_url = f"/registrations/seats/{seat.public_id}/recordings/{recording.pk}/"
    assert client.get(file_url).status_code == 404
    beat = client.post(
        f"{file_url}heartbeat/",
        json.dumps({"played_from": 0, "played_to": 10, "position": 10}),
        content_type="application/json",
    )
    assert beat.status_code == 403
    assert "its recordings are no longer available" in beat.json()["message"]
    start = client.post(
        reverse("certification:post_test_start", args=[seat.public_id]), follow=True
    )
    assert "This registration was cancelled (or refunded), so its post-test is no longer" in text(
        start.content.decode()
    )
    assert not seat.post_test_attempts.exists()


def test_a_certificate_waiting_in_a_bulk_issue_is_not_issued_after_a_refund(
    order, finance, django_capture_on_commit_callbacks
):
    seat = seat_of(order)
    complete_the_course(seat)
    assert services.eligibility(seat).is_eligible
    administrator = make_staff_in_role(CE_ADMINISTRATOR, email="ce@example.org")
    # Queued by the CE administrator; the worker has not run it yet.
    job = services.start_issue_job(seat.event, [seat.pk], actor=administrator)

    refund_in_full(order, finance, django_capture_on_commit_callbacks)
    job = run_issue_job(job.pk)

    assert not Certificate.objects.filter(registration=seat).exists()
    assert job.issued == 0
    assert job.problems == [
        "Hope Homestudy is not eligible: registration not confirmed (The registration is not "
        "confirmed.)."
    ]
    assert not order.needs_attention  # nothing was kept, nothing to tell Finance


def test_an_issued_certificate_stays_and_finance_is_warned(
    client, order, finance, django_capture_on_commit_callbacks
):
    seat = seat_of(order)
    complete_the_course(seat)
    certificate = services.issue_certificate(seat, notify=False)
    mail.outbox.clear()

    refund_in_full(order, finance, django_capture_on_commit_callbacks)

    certificate.refresh_from_db()
    assert certificate.status == CertificateStatus.ISSUED
    verify = text(Client().get(f"/verify/{certificate.code}/").content.decode())
    assert "Valid. This certificate was issued" in verify
    warning = (
        f"Hope Homestudy keeps CE certificate {certificate.code} for {COURSE} (issued "
        f"{certificate.issue_date:%-d %B %Y}) although the seat is refunded"
    )
    assert order.needs_attention
    assert warning in order.attention_reason
    [alert] = [m for m in mail.outbox if m.to == ["finance@example.org"] and warning in m.body]
    assert alert.subject == f"Order {order.reference} needs attention"
    # Finance's admin home lists the order; the order's page says why.
    log_in_with_second_factor(client, finance)
    home = text(client.get("/admin/").content.decode())
    assert "1 order needs a person to look at it" in home
    order_page = client.get(reverse("payments_admin:order", args=[order.public_id]))
    assert warning in text(order_page.content.decode())
    # The attendee keeps the certificate in My CE.
    my_ce = text(attendee_client(seat).get(reverse("certification:my_ce")).content.decode())
    assert certificate.code in my_ce


def test_an_attempt_open_when_the_seat_is_refunded_shows_no_questions_and_cannot_be_submitted(
    order, finance, django_capture_on_commit_callbacks
):
    seat = seat_of(order)
    attempt = services.start_post_test(seat, actor=seat.attendee)
    client = attendee_client(seat)
    take = reverse("certification:post_test_take", args=[seat.public_id])
    first_question = attempt.bank.questions.first().text
    assert first_question in text(client.get(take).content.decode())

    refund_in_full(order, finance, django_capture_on_commit_callbacks)

    page = client.get(take, follow=True)
    assert first_question not in text(page.content.decode())
    assert "its post-test is no longer available" in text(page.content.decode())
    answers = {key[1:]: value for key, value in answers_for(attempt, right=True).items()}
    with pytest.raises(services.CEError, match="its post-test is no longer available"):
        services.submit_post_test(attempt, actor=seat.attendee, answers=answers)
    attempt.refresh_from_db()
    assert attempt.status == attempt.Status.IN_PROGRESS
