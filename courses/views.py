"""The attendee's side of registration: choose tickets, name attendees, confirm or go on to
payment, and manage registrations afterwards. Views only read and call `courses.services`."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cms.access import Perm, may_act_for_others, members, owner, secret_link
from cms.locking import Busy
from courses import queries, services
from courses.forms import (
    AttendeeForm,
    OneStepForm,
    RegistrationChoiceForm,
    TransferForm,
)
from courses.models import (
    ApprovalStatus,
    BookingStatus,
    EventPage,
    Material,
    RegistrationStatus,
)

# What a change can meet instead of success: a refusal by the rules, or its rows busy with
# someone else's change (cms.locking.Busy, after the lock timeout). Either way nothing was
# changed, and the person reads why on the page they sent, ready to send it again.
REFUSED = (services.RegistrationError, Busy)


def live_event(event_id):
    return get_object_or_404(EventPage.objects.live(), pk=event_id)


def checkout_url(booking):
    """The payments app's checkout for this booking, or "" when payments is not wired."""
    try:
        return reverse(settings.COURSES_CHECKOUT_URL_NAME, args=[booking.public_id])
    except NoReverseMatch:
        return ""


def apply_service_error(form, error):
    """Show a refused request on the field it concerns, or above the form."""
    field = getattr(error, "field", None)
    if field and field in form.fields:
        form.add_error(field, error.message)
    else:
        form.add_error(None, error.message)


# -- step 1: choose tickets -----------------------------------------------------------------


def _sold_out(request, event):
    """Full: in a rush most attempts end here. A short page made from the seat count the
    attempt already did (no second count, no ticket form built), answered with 409."""
    return render(request, "courses/sold_out.html", {"event": event}, status=409)


@members
def register(request, event_id):
    """Choose tickets and add-ons and place the hold; GET shows the choice on its own page
    (where the login redirect lands)."""
    if request.method != "POST":
        event = live_event(event_id)
        return _register_page(request, event, _brought_back(request, event))
    # One query loads the event with its seat count, the key's booking and its offer.
    key = request.POST.get("idempotency_key", "")[:64]
    event = queries.event_for_hold(event_id, purchaser=request.user, idempotency_key=key)
    if request.POST.get("one_step"):
        return _register_in_one_step(request, event)
    seat_check = None
    if event.registration_is_open():
        seat_check = services.check_before_choosing(
            event, purchaser=request.user, idempotency_key=key
        )
        if seat_check.booking_public_id is not None:  # a double click: its first booking
            return redirect("courses:booking_attendees", public_id=seat_check.booking_public_id)
        if seat_check.full(event):
            return _sold_out(request, event)
    ticket_types, add_ons = queries.offered_on_load(event)
    form = RegistrationChoiceForm(event, request.POST, ticket_types=ticket_types, add_ons=add_ons)
    sold_out = busy = False
    if form.is_valid():
        try:
            booking = services.place_hold(
                event=event,
                purchaser=request.user,
                tickets=form.quantities(),
                add_ons=form.add_on_counts(),
                access_code=form.cleaned_data.get("access_code", ""),
                idempotency_key=form.cleaned_data["idempotency_key"],
                offered_tickets=form.ticket_types,
                offered_add_ons=form.add_ons,
                seat_check=seat_check,
            )
        except services.SoldOut as error:
            if error.seats_left == 0:
                return _sold_out(request, event)
            sold_out = True
            apply_service_error(form, error)
        except Busy as error:
            busy = True
            apply_service_error(form, error)
        except services.RegistrationError as error:
            apply_service_error(form, error)
        else:
            return redirect("courses:booking_attendees", public_id=booking.public_id)
    status = 409 if sold_out else 503 if busy else 400
    return _register_page(request, event, form, status=status, sold_out=sold_out)


def _brought_back(request, event):
    """The empty choice, or an anonymous visitor's choice on the event page, which arrives
    here (after logging in) in the query string: shown filled in, to be confirmed with the
    Register button."""
    form = RegistrationChoiceForm(event)
    form.initial.update(
        (name, value)
        for name, value in request.GET.items()
        if name in form.fields and name != "idempotency_key"
    )
    return form


def _register_page(request, event, form, *, status=200, sold_out=False, one_step_form=None):
    existing = queries.active_registration(request.user, event)
    one_step = None
    if one_step_form is not None:
        one_step = _one_step_offer(event, request.user, one_step_form)
    elif not existing and request.method == "GET" and _wants_one_seat(request.GET):
        one_step = _one_step_offer(event, request.user)
    context = {
        "event": event,
        "form": form,
        "registration_open": event.registration_is_open(),
        "seats_left": event.seats_left,
        "sold_out": sold_out or event.seats_left == 0,
        "existing": existing,
        "one_step": one_step,
        **queries.member_prices(request, event, form),
    }
    return render(request, "courses/register.html", context, status=status)


def _wants_one_seat(query):
    """Whether a choice brought back from the event page (after logging in) is one seat, or
    none yet; more seats, an add-on or `?full=1` asks for the full form."""
    if "full" in query or query.get("access_code"):
        return False
    chosen = [v for k, v in query.items() if k.startswith(("ticket_", "addon_"))]
    return all(v.strip() in ("", "0", "1") for v in chosen)


def _one_step_offer(event, user, form=None):
    """What the "Register (free)" form needs, or None when the full steps apply."""
    ticket = services.one_step_ticket(event, purchaser=user)
    if ticket is None:
        return None
    return {"ticket": ticket, "form": form or OneStepForm(ce_offered=event.offers_ce_credit)}


def _register_in_one_step(request, event):
    """ "Register (free)": a member's own free seat, held and confirmed in one POST. A double
    click finds its first booking by the form's one-time key and lands on its confirmation."""
    key = request.POST.get("idempotency_key", "")[:64]
    if not key:
        return redirect("courses:register", event_id=event.pk)
    seat_check = None
    if event.registration_is_open():
        seat_check = services.check_before_choosing(
            event, purchaser=request.user, idempotency_key=key
        )
        if seat_check.booking_public_id is not None:
            return redirect("courses:booking_confirmation", public_id=seat_check.booking_public_id)
        if seat_check.full(event):
            return _sold_out(request, event)
    if queries.active_registration(request.user, event):
        # Registered already (in another tab, or before): say so, with the way to the seat.
        return _register_page(request, event, RegistrationChoiceForm(event), status=409)
    one_step_form = OneStepForm(request.POST, ce_offered=event.offers_ce_credit)
    if not one_step_form.is_valid():
        return _register_page(
            request, event, RegistrationChoiceForm(event), status=400, one_step_form=one_step_form
        )
    try:
        booking = services.register_in_one_step(
            event,
            purchaser=request.user,
            idempotency_key=key,
            ce=one_step_form.ce_details(),
            seat_check=seat_check,
        )
    except services.SoldOut:
        return _sold_out(request, event)
    except REFUSED as error:
        messages.error(request, error.message)
        return redirect("courses:register", event_id=event.pk)
    return redirect("courses:booking_confirmation", public_id=booking.public_id)


# -- step 2: attendee details ----------------------------------------------------------------


def _attendee_forms(booking, data=None):
    event = booking.event
    add_ons = list(event.add_ons.all())
    questions = list(event.questions.all())
    ce_offered = event.offers_ce_credit
    registrations = list(
        booking.registrations.exclude(
            status__in=[RegistrationStatus.CANCELLED, RegistrationStatus.EXPIRED]
        )
        .select_related("ticket_type", "event")
        .prefetch_related("add_on_lines")
        .order_by("id")
    )
    return [
        AttendeeForm(
            data,
            prefix=f"seat-{index}",
            registration=registration,
            add_ons=add_ons,
            questions=questions,
            ce_offered=ce_offered,
        )
        for index, registration in enumerate(registrations, start=1)
    ]


@owner(Perm.MANAGE_REGISTRATIONS)
def booking_attendees(request, public_id):
    booking = queries.booking_for(request.user, public_id)
    if booking.status != BookingStatus.HELD or booking.hold_has_expired():
        return redirect("courses:booking_summary", public_id=booking.public_id)
    if request.method == "POST":
        forms = _attendee_forms(booking, request.POST)
        if all(form.is_valid() for form in forms):
            try:
                with transaction.atomic():
                    for form in forms:
                        services.update_attendee_details(
                            form.registration, form.service_data(), actor=request.user
                        )
            except REFUSED as error:
                messages.error(request, error.message)
                status = 503 if isinstance(error, Busy) else 400
            else:
                return redirect("courses:booking_summary", public_id=booking.public_id)
        else:
            status = 400
    else:
        forms = _attendee_forms(booking)
        status = 200
    errors = [(form, field) for form in forms for field in form if field.errors]
    context = {
        "booking": booking,
        "event": booking.event,
        "forms": forms,
        "error_fields": errors,
        "non_field_errors": [
            (index, error)
            for index, form in enumerate(forms, start=1)
            for error in form.non_field_errors()
        ],
        "group": len(forms) > 1,
        # Leaving without saving only makes sense once every seat already has its details.
        "details_complete": services.booking_details_complete(booking),
    }
    return render(request, "courses/booking_attendees.html", context, status=status)


# -- step 3: summary, then confirmation or payment ------------------------------------------


@owner(Perm.MANAGE_REGISTRATIONS)
def booking_summary(request, public_id):
    booking = queries.booking_for(request.user, public_id)
    event = booking.event
    if booking.status == BookingStatus.CONFIRMED:
        return redirect("courses:booking_confirmation", public_id=booking.public_id)
    now = timezone.now()
    total, currency = services.booking_total(booking)
    expired = booking.hold_has_expired(now)
    context = {
        "booking": booking,
        "event": event,
        "registrations": list(
            booking.registrations.select_related("ticket_type")
            .prefetch_related("add_on_lines__add_on")
            .order_by("id")
        ),
        "line_items": [
            {**item, "amount": item["quantity"] * item["unit_amount"]}
            for item in services.booking_line_items(booking)
        ],
        "total": total,
        "currency": currency,
        "is_free": total == 0,
        "expired": expired,
        "cancelled": booking.status == BookingStatus.CANCELLED,
        "awaiting_approval": booking.approval_status == ApprovalStatus.PENDING,
        "rejected": booking.approval_status == ApprovalStatus.REJECTED,
        "details_complete": services.booking_details_complete(booking),
        "checkout_url": checkout_url(booking) if total else "",
        "seats_left": event.seats_left if expired else None,
        "registration_open": event.registration_is_open(now),
        "seconds_left": max(0, int((booking.expires_at - now).total_seconds()))
        if booking.expires_at and not expired
        else None,
    }
    return render(request, "courses/booking_summary.html", context)


@owner(Perm.MANAGE_REGISTRATIONS)
@require_POST
def confirm_booking(request, public_id):
    """The free-order end of checkout."""
    booking = queries.booking_for(request.user, public_id)
    if not services.booking_details_complete(booking):
        messages.error(request, _("Please give a name and email address for every attendee."))
        return redirect("courses:booking_attendees", public_id=booking.public_id)
    try:
        services.confirm_free_booking(booking, actor=request.user)
    except REFUSED as error:
        messages.error(request, error.message)
        return redirect("courses:booking_summary", public_id=booking.public_id)
    return redirect("courses:booking_confirmation", public_id=booking.public_id)


@owner(Perm.MANAGE_REGISTRATIONS)
def booking_confirmation(request, public_id):
    booking = queries.booking_for(request.user, public_id)
    if booking.status != BookingStatus.CONFIRMED:
        return redirect("courses:booking_summary", public_id=booking.public_id)
    registrations = list(booking.registrations.order_by("id"))
    confirmed = [r for r in registrations if r.status == RegistrationStatus.CONFIRMED]
    return render(
        request,
        "courses/booking_confirmation.html",
        {
            "booking": booking,
            "event": booking.event,
            "registrations": registrations,
            "confirmed": confirmed,
            # One sentence names them all, so a translation can place the list.
            "emailed": [r.attendee_email for r in confirmed if not r.awaiting_claim],
        },
    )


# -- after registering ------------------------------------------------------------------------


@members
def my_registrations(request):
    now = timezone.now()
    upcoming, past = queries.my_bookings(request.user, now)
    for entry in upcoming + past:
        for registration in entry["registrations"]:
            own = registration.attendee_id == request.user.pk
            registration.join_url = services.join_link_for(registration, now) if own else ""
            registration.join_opens = (
                registration.event.join_link_visible_from
                if own and registration.is_confirmed and registration.event.join_url
                else None
            )
            deadline = registration.event.cancellation_deadline
            registration.can_change = registration.is_confirmed and (
                deadline is None or now < deadline
            )
        entry["can_download"] = any(
            r.attendee_id == request.user.pk and r.is_confirmed for r in entry["registrations"]
        ) or services.is_event_staff(request.user)
        entry["materials"] = [
            m
            for m in entry["materials"]
            if entry["can_download"] and services.can_download_material(request.user, m, now)
        ]
    return render(
        request,
        "courses/my_registrations.html",
        {
            "upcoming": upcoming,
            "past": past,
            "waitlist": queries.my_waitlist_entries(request.user),
            "now": now,
        },
    )


@owner(Perm.MANAGE_REGISTRATIONS)
def cancel_registration(request, public_id):
    """A page that says what cancelling gives back (the refund is shown by payments' template
    tag, computed by the function that refunds), then cancels on confirmation."""
    registration = queries.registration_for(request.user, public_id)
    context = {"registration": registration, "event": registration.event}
    refusal = services.change_refusal(registration, request.user, verb=_("cancel"))
    if refusal:
        context["refusal"] = refusal
        status = 200 if request.method == "GET" else 400
        return render(request, "courses/cancel.html", context, status=status)
    if request.method != "POST":
        return render(request, "courses/cancel.html", context)
    try:
        services.cancel_registration(registration, actor=request.user)
    except REFUSED as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("The registration of %(name)s for %(event)s is cancelled.")
            % {"name": registration.attendee_name, "event": registration.event.title},
        )
    return redirect("courses:my_registrations")


@owner(Perm.MANAGE_REGISTRATIONS)
@require_POST
def resend_invitation(request, public_id):
    """The purchaser sends an invited attendee the claim link again."""
    registration = queries.registration_for(request.user, public_id)
    try:
        services.invite_attendee(registration, actor=request.user)
    except services.RegistrationError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("We've sent the invitation again to %(email)s.")
            % {"email": registration.attendee_email},
        )
    return redirect("courses:my_registrations")


@owner(Perm.MANAGE_REGISTRATIONS)
def transfer_registration(request, public_id):
    registration = queries.registration_for(request.user, public_id)
    refusal = services.change_refusal(registration, request.user)
    if refusal:
        # Past the cut-off (or not a confirmed seat): say so instead of a form that refuses.
        return render(
            request,
            "courses/transfer.html",
            {"registration": registration, "event": registration.event, "refusal": refusal},
            status=200 if request.method == "GET" else 400,
        )
    if request.method == "POST":
        form = TransferForm(request.POST)
        if form.is_valid():
            try:
                successor = services.transfer_registration(
                    registration,
                    new_name=form.cleaned_data["new_name"],
                    new_email=form.cleaned_data["new_email"],
                    actor=request.user,
                )
            except REFUSED as error:
                apply_service_error(form, error)
            else:
                messages.success(
                    request,
                    _("The seat is now %(name)s's. We've emailed %(email)s.")
                    % {"name": successor.attendee_name, "email": successor.attendee_email},
                )
                return redirect("courses:my_registrations")
        status = 400
    else:
        form = TransferForm()
        status = 200
    return render(
        request,
        "courses/transfer.html",
        {"registration": registration, "event": registration.event, "form": form},
        status=status,
    )


@secret_link
def claim_seat(request, token):
    """An invited attendee takes the seat a coordinator booked for them."""
    try:
        registration = services.registration_for_invitation(token)
    except services.RegistrationError as error:
        return render(request, "courses/claim_invalid.html", {"message": error.message}, status=404)
    if request.method == "POST":
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        try:
            services.claim_invited_seat(token, user=request.user)
        except REFUSED as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request,
                _("The seat at %(event)s is yours.") % {"event": registration.event.title},
            )
            return redirect("courses:my_registrations")
    return render(
        request,
        "courses/claim_seat.html",
        {"registration": registration, "event": registration.event},
    )


@owner(Perm.MANAGE_REGISTRATIONS, Perm.ISSUE_CERTIFICATES)
def download_material(request, material_id):
    """Materials go only to confirmed registrants and staff; others learn nothing (404)."""
    material = get_object_or_404(Material.objects.select_related("event"), pk=material_id)
    if not services.can_download_material(request.user, material):
        # Staff who hold the right but skipped their second factor are asked for it.
        may_act_for_others(request.user, Perm.MANAGE_REGISTRATIONS, Perm.ISSUE_CERTIFICATES)
        raise Http404("No such material.")
    return FileResponse(material.file.open("rb"), as_attachment=True, filename=material.filename)
