"""Paying by invoice with a purchase order, reminders, releases, and gapless numbering."""

import io
from datetime import timedelta

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from django.contrib.auth.models import Group
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

import cms.pdf
from courses.factories import UserFactory, make_plan
from courses.models import BookingStatus, MembershipPeriod, RegistrationStatus
from payments import services
from payments.models import DocumentCounter, EventPaymentSettings, FinanceDocument, Order
from tests.accounts_support import log_in_with_second_factor
from tests.fakestripe.helpers import hold_seats

pytestmark = pytest.mark.django_db


def pdf_text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def invoice_booking(**hold):
    booking = hold_seats(**hold)
    EventPaymentSettings.objects.create(
        event=booking.event, invoice_payment_enabled=True, invoice_due_days=30
    )
    return booking


def choose_invoice(client, booking, capture_on_commit, **fields):
    """Choose to pay by invoice; what the choice queues for after the commit (numbering,
    rendering and emailing the invoice) runs before the page it leads to is shown."""
    client.force_login(booking.purchaser)
    data = {
        "action": "invoice",
        "billing_name": "Riverside Community Mental Health",
        "billing_address": "12 River Road\nSpringfield, IL 62701",
        "po_number": "PO-7731",
        **fields,
    }
    with capture_on_commit(execute=True):
        response = client.post(reverse("payments:checkout", args=[booking.public_id]), data)
    return client.get(response["Location"]) if response.status_code == 302 else response


def test_agency_pays_by_invoice_and_finance_marks_it_paid(
    client, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_SECRET_KEY = "sk_test_unused"  # card is offered too; the agency picks invoice
    booking = invoice_booking(price=45000, seats=3)
    client.force_login(booking.purchaser)
    page = client.get(reverse("payments:checkout", args=[booking.public_id]))
    assert "Pay by invoice" in page.text and "by card" in page.text
    mail.outbox.clear()

    response = choose_invoice(client, booking, django_capture_on_commit_callbacks)

    assert "Invoice sent" in response.text
    assert "quoting purchase order PO-7731" in response.text
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED
    order = Order.objects.get(booking=booking)
    assert (order.status, order.payment_method) == (Order.Status.PENDING, "invoice")
    year = timezone.now().year
    invoice_mail = next(m for m in mail.outbox if m.subject.startswith("Invoice"))
    name, content, _ = invoice_mail.attachments[0]
    assert name == f"INV-{year}-00001.pdf"
    text = pdf_text(content)
    assert "Riverside Community Mental Health" in text
    assert "PO-7731" in text
    assert "$1,350.00" in text
    assert "Please pay" in text
    assert "Download invoice INV-" in response.text

    # Finance records the bank transfer.
    finance = UserFactory()
    finance.groups.add(Group.objects.get(name="Finance"))
    Authenticator.objects.create(user=finance, type=Authenticator.Type.TOTP, data={})
    log_in_with_second_factor(client, finance)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            reverse("payments_admin:order_mark_paid", args=[order.public_id]),
            {"reference": "BACS 99812"},
            follow=True,
        )
    assert "marked paid" in done.text
    order.refresh_from_db()
    assert order.status == Order.Status.PAID
    assert order.payments.get().reference == "BACS 99812"
    receipt_mail = next(m for m in mail.outbox if m.subject.startswith("Receipt"))
    assert "BACS 99812" in pdf_text(receipt_mail.attachments[0][1])
    booking.refresh_from_db()
    assert booking.paid_at == order.paid_at


def test_invoice_needs_a_billing_address(client, django_capture_on_commit_callbacks):
    booking = invoice_booking()
    response = choose_invoice(
        client, booking, django_capture_on_commit_callbacks, billing_name="", billing_address=""
    )
    assert "This field is required" in response.text
    assert Order.objects.get(booking=booking).payment_method == ""


def test_a_therapist_paying_for_themselves_names_no_organisation(
    client, django_capture_on_commit_callbacks
):
    """The organisation is optional: the invoice is made out to the buyer, once, with the
    site's payment instructions, and the page says plainly that payment is by invoice."""
    from wagtail.models import Site

    from cms.models import SiteSettings

    site_settings = SiteSettings.for_site(Site.objects.get(is_default_site=True))
    site_settings.organisation_name = "Heart and Soul of Change Project"
    site_settings.postal_address = "Heart and Soul of Change Project\nJensen Beach, FL"
    site_settings.invoice_payment_instructions = "Bank transfer to account 12-3456, routing 99."
    site_settings.save()
    booking = invoice_booking(price=98550)
    client.force_login(booking.purchaser)
    page = client.get(reverse("payments:checkout", args=[booking.public_id]))
    assert "Organisation to invoice (optional)" in page.text
    assert "Payment for this event is by invoice" in page.text
    assert "not available at the moment" not in page.text
    mail.outbox.clear()

    choose_invoice(client, booking, django_capture_on_commit_callbacks, billing_name="")

    order = Order.objects.get(booking=booking)
    assert order.billing_name == booking.purchaser.display_name
    invoice_mail = next(m for m in mail.outbox if m.subject.startswith("Invoice"))
    text = pdf_text(invoice_mail.attachments[0][1])
    assert booking.purchaser.display_name in text
    assert "How to pay" in text and "account 12-3456" in text
    assert text.count("Heart and Soul of Change Project") == 1


def test_invoice_is_not_offered_unless_staff_enabled_it(
    client, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_SECRET_KEY = "sk_test_unused"
    booking = hold_seats()
    client.force_login(booking.purchaser)
    assert (
        "Pay by invoice"
        not in client.get(reverse("payments:checkout", args=[booking.public_id])).text
    )
    response = choose_invoice(client, booking, django_capture_on_commit_callbacks)
    assert "Invoice payment is not offered for this event" in response.text


def test_unpaid_invoice_is_reminded_then_released(client, django_capture_on_commit_callbacks):
    booking = invoice_booking()
    EventPaymentSettings.objects.filter(event=booking.event).update(
        invoice_due_days=10, invoice_reminder_days_before_due=3, invoice_release_grace_days=2
    )
    choose_invoice(client, booking, django_capture_on_commit_callbacks)
    order = Order.objects.get(booking=booking)
    mail.outbox.clear()
    start = timezone.now()

    assert services.process_overdue_invoices(now=start + timedelta(days=2)) == {
        "reminded": 0,
        "released": 0,
    }
    with (
        time_machine.travel(start + timedelta(days=8), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.process_overdue_invoices()["reminded"] == 1
    reminder = next(m for m in mail.outbox if m.subject.startswith("Reminder"))
    assert "is due on" in reminder.body
    with time_machine.travel(start + timedelta(days=11), tick=False):
        assert services.process_overdue_invoices() == {"reminded": 0, "released": 0}
    with (
        time_machine.travel(start + timedelta(days=13), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.process_overdue_invoices()["released"] == 1

    order.refresh_from_db()
    assert order.status == Order.Status.CANCELLED
    assert booking.registrations.get().status == RegistrationStatus.CANCELLED
    assert any("was released" in m.subject for m in mail.outbox)


def test_two_runs_of_the_reminder_job_send_one_reminder_each(
    client, django_capture_on_commit_callbacks
):
    """Two beat processes by mistake: the row lock and the email's outbox key each keep the
    reminder to one per invoice and due date."""
    orders = []
    for _ in range(2):
        booking = invoice_booking()
        EventPaymentSettings.objects.filter(event=booking.event).update(
            invoice_due_days=10, invoice_reminder_days_before_due=3
        )
        choose_invoice(client, booking, django_capture_on_commit_callbacks)
        orders.append(Order.objects.get(booking=booking))
    mail.outbox.clear()
    later = timezone.now() + timedelta(days=8)

    with django_capture_on_commit_callbacks(execute=True):
        first = services.process_overdue_invoices(now=later)
        second = services.process_overdue_invoices(now=later)
    # The second run read the orders before the first marked them (a race): still one email.
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(invoice_reminder_sent_at=None)
    with django_capture_on_commit_callbacks(execute=True):
        services.process_overdue_invoices(now=later)

    assert (first["reminded"], second["reminded"]) == (2, 0)
    reminders = [m for m in mail.outbox if m.subject.startswith("Reminder")]
    assert sorted(m.to[0] for m in reminders) == sorted(o.email for o in orders)


def test_seats_released_for_an_unpaid_invoice_take_the_membership_with_them(
    client, django_capture_on_commit_callbacks
):
    """Grants follow the order: member-site access that came with the invoiced seat is
    withdrawn when the unpaid invoice releases it."""
    group = Group.objects.create(name="Member site")
    booking = invoice_booking(included_membership=make_plan(group))
    EventPaymentSettings.objects.filter(event=booking.event).update(
        invoice_due_days=10, invoice_reminder_days_before_due=3, invoice_release_grace_days=2
    )
    choose_invoice(client, booking, django_capture_on_commit_callbacks)
    buyer = booking.purchaser
    assert buyer.groups.filter(pk=group.pk).exists()
    start = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        services.process_overdue_invoices(now=start + timedelta(days=8))
    with (
        time_machine.travel(start + timedelta(days=13), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert services.process_overdue_invoices()["released"] == 1

    assert not buyer.groups.filter(pk=group.pk).exists()
    period = MembershipPeriod.objects.get(registration__booking=booking)
    assert period.revoked_at is not None
    booking.refresh_from_db()
    assert booking.paid_at is None


def test_document_numbers_have_no_gaps_and_restart_each_year(
    client, settings, django_capture_on_commit_callbacks
):
    settings.STRIPE_SECRET_KEY = None
    orders = []
    for _ in range(3):
        booking = invoice_booking()
        choose_invoice(client, booking, django_capture_on_commit_callbacks)
        orders.append(Order.objects.get(booking=booking))
    year = timezone.now().year
    assert sorted(FinanceDocument.objects.values_list("number", flat=True)) == [
        f"INV-{year}-00001",
        f"INV-{year}-00002",
        f"INV-{year}-00003",
    ]
    # Asking again returns the same document, not a new number.
    assert services.issue_document(orders[0], "invoice").number == f"INV-{year}-00001"

    next_year = timezone.now().replace(year=year + 1, month=1, day=2)
    booking = invoice_booking()
    order = services.order_for_booking(booking)
    document = services.issue_document(order, "invoice", now=next_year)
    assert document.number == f"INV-{year + 1}-00001"
    assert DocumentCounter.objects.get(kind="invoice", year=year).last_number == 3


def test_a_failed_render_keeps_its_number_and_is_rendered_later(client, settings, monkeypatch):
    settings.STRIPE_SECRET_KEY = None
    booking = invoice_booking()
    order = services.order_for_booking(booking)

    def broken(*args, **kwargs):
        raise RuntimeError("renderer crashed")

    monkeypatch.setattr(cms.pdf, "render_pdf", broken)
    with pytest.raises(RuntimeError):
        services.issue_document(order, "invoice")
    monkeypatch.undo()
    pending = FinanceDocument.objects.get(order=order)
    assert pending.number.endswith("-00001") and not pending.file

    # The buyer's download renders it under the same number: no gap, no second number.
    client.force_login(order.purchaser)
    response = client.get(reverse("payments:document", args=[pending.public_id]))
    text = pdf_text(b"".join(response.streaming_content))
    assert pending.number in text
    assert FinanceDocument.objects.count() == 1


def test_an_invoiced_buyer_can_pay_the_invoice_by_card(
    client, settings, django_capture_on_commit_callbacks
):
    from tests.fakestripe.helpers import deliver_sent_events, running_fake_stripe

    fake = running_fake_stripe(settings)
    fake_stripe = next(fake)
    try:
        booking = invoice_booking(price=45000)
        mail.outbox.clear()
        page = choose_invoice(client, booking, django_capture_on_commit_callbacks)
        order = Order.objects.get(booking=booking)
        assert "Pay this invoice by card now ($450.00)" in page.text
        invoice_mail = next(m for m in mail.outbox if m.subject.startswith("Invoice"))
        pay_url = reverse("payments:order_return", args=[order.public_id])
        assert pay_url in pdf_text(invoice_mail.attachments[0][1]).replace("\n", "")

        response = client.post(reverse("payments:pay_invoice_by_card", args=[order.public_id]))
        assert response.status_code == 302 and response["Location"].startswith(fake_stripe.base_url)
        order.refresh_from_db()
        fake_stripe.complete_session(order.stripe_checkout_session_id)
        with django_capture_on_commit_callbacks(execute=True):
            deliver_sent_events(client, fake_stripe)

        order.refresh_from_db()
        assert (order.status, order.payment_method) == (Order.Status.PAID, "card")
        assert order.documents.filter(kind=FinanceDocument.Kind.RECEIPT).exists()
        booking.refresh_from_db()
        assert booking.status == BookingStatus.CONFIRMED
        # Someone else cannot start a payment on this invoice.
        client.force_login(UserFactory())
        other = client.post(reverse("payments:pay_invoice_by_card", args=[order.public_id]))
        assert other.status_code == 404
    finally:
        next(fake, None)
