"""The cancellation and refund policy as buyers meet it: stated in words wherever they commit
money, the exact refund before they cancel, then the refund email, credit note and record."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from pypdf import PdfReader

from courses.models import RegistrationStatus
from payments import services
from payments.models import EventPaymentSettings, FinanceDocument, Order, Refund
from tests.fakestripe.helpers import deliver_sent_events, hold_seats, running_fake_stripe

pytestmark = pytest.mark.django_db

PRICE = 98550  # $985.50


@pytest.fixture
def fake_stripe(settings):
    yield from running_fake_stripe(settings)


def pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def with_policy(event):
    """The conference's policy: full refund until 30 days before, then $50 kept, nothing
    within 7 days."""
    return EventPaymentSettings.objects.create(
        event=event, full_refund_days_before=30, no_refund_days_before=7, cancellation_fee=5000
    )


def paid_booking(client, fake_stripe, *, starts_in):
    booking = hold_seats(price=PRICE, starts_in=starts_in)
    with_policy(booking.event)
    order = services.order_for_booking(booking)
    services.start_card_checkout(order, success_url="http://testserver/ok", cancel_url="http://x")
    order.refresh_from_db()
    fake_stripe.complete_session(order.stripe_checkout_session_id)
    deliver_sent_events(client, fake_stripe)
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    return booking, order


def test_the_policy_is_stated_on_the_event_page_summary_and_payment_page(client):
    booking = hold_seats(price=PRICE, starts_in=timedelta(days=60))
    with_policy(booking.event)
    client.force_login(booking.purchaser)

    for url in [
        booking.event.url,
        reverse("courses:booking_summary", args=[booking.public_id]),
        reverse("payments:checkout", args=[booking.public_id]),
    ]:
        text = client.get(url).text
        assert "Cancellation and refunds" in text, url
        assert "for a full refund" in text, url
        assert "minus a $50.00 fee" in text, url
        assert "After that there is no refund" in text, url


def test_a_free_event_states_no_refund_policy(client):
    booking = hold_seats(price=0)
    client.force_login(booking.purchaser)
    assert "Cancellation and refunds" not in client.get(booking.event.url).text


def test_cancel_page_states_the_exact_refund_and_the_refund_pays_exactly_that(
    client, fake_stripe, django_capture_on_commit_callbacks
):
    # 20 days out: between the limits, so $985.50 less the $50.00 fee.
    booking, order = paid_booking(client, fake_stripe, starts_in=timedelta(days=20))
    registration = booking.registrations.get()
    client.force_login(booking.purchaser)
    url = reverse("courses:cancel_registration", args=[registration.public_id])

    page = client.get(url)
    assert page.status_code == 200
    assert "You get <strong>$935.50</strong> back" in page.text
    assert "less the $50.00 cancellation fee" in page.text
    assert registration.status == RegistrationStatus.CONFIRMED  # looking cancels nothing

    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(url, follow=True)
    deliver_sent_events(client, fake_stripe)

    assert "is cancelled" in done.text
    refund = Refund.objects.get(order=order)
    assert (refund.amount, refund.status) == (93550, Refund.Status.SUCCEEDED)
    notice = next(m for m in mail.outbox if m.subject.startswith("Refund of $935.50"))
    assert notice.to == [order.email]
    assert "5 to 10 business days" in notice.body
    name, content, mimetype = notice.attachments[0]
    credit_note = FinanceDocument.objects.get(refund=refund)
    assert credit_note.kind == FinanceDocument.Kind.CREDIT_NOTE
    assert name == f"{credit_note.number}.pdf" and credit_note.number.startswith("CN-")
    text = pdf_text(content)
    assert "Credit note" in text and "$935.50" in text
    receipt = order.documents.get(kind=FinanceDocument.Kind.RECEIPT)
    assert receipt.number in text  # the credit note names what it corrects

    registrations = client.get(reverse("courses:my_registrations")).text
    assert "Refunded $935.50 on" in registrations
    assert f"Download credit note {credit_note.number}" in registrations


def test_within_the_last_week_the_cancel_page_says_no_refund(client, fake_stripe):
    booking, order = paid_booking(client, fake_stripe, starts_in=timedelta(days=5))
    registration = booking.registrations.get()
    client.force_login(booking.purchaser)
    page = client.get(reverse("courses:cancel_registration", args=[registration.public_id]))
    assert "No refund" in page.text
    assert "transfer the seat to a colleague" in page.text


def test_someone_else_cannot_see_or_use_the_cancel_page(client, fake_stripe):
    from courses.factories import UserFactory

    booking, order = paid_booking(client, fake_stripe, starts_in=timedelta(days=40))
    registration = booking.registrations.get()
    client.force_login(UserFactory())
    url = reverse("courses:cancel_registration", args=[registration.public_id])
    assert client.get(url).status_code == 404
    assert client.post(url).status_code == 404
    registration.refresh_from_db()
    assert registration.status == RegistrationStatus.CONFIRMED


def test_a_changed_policy_shows_at_once_on_the_event_page(client):
    booking = hold_seats(price=PRICE, starts_in=timedelta(days=60))
    settings_row = with_policy(booking.event)
    assert "minus a $50.00 fee" in client.get(booking.event.url).text  # now cached

    settings_row.cancellation_fee = 7500
    settings_row.save()

    text = client.get(booking.event.url).text
    assert "minus a $75.00 fee" in text and "$50.00 fee" not in text
