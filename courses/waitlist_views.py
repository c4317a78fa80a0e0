"""The waitlist from the attendee's side: joining it for a sold-out event or ticket, leaving
it, and taking a seat it offers (a hold, then the usual registration steps)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from cms.access import members, owner, secret_link
from cms.untrusted_input import parse_id
from courses import services
from courses.forms import WaitlistClaimForm
from courses.models import TicketType, WaitlistEntry
from courses.views import REFUSED, apply_service_error, live_event


@members
@require_POST
def join_waitlist(request, event_id):
    event = live_event(event_id)
    ticket = None
    if request.POST.get("ticket_type"):
        ticket_id = parse_id(request.POST["ticket_type"])
        ticket = TicketType.objects.filter(pk=ticket_id).first() if ticket_id else None
        if ticket is None or ticket.event_id != event.pk:
            messages.error(request, _("That ticket is not offered for this event."))
            return redirect(event.url)
    try:
        services.join_waitlist(event, user=request.user, ticket_type=ticket)
    except services.RegistrationError as error:
        messages.error(request, error.message)
        return redirect(event.url)
    messages.success(
        request,
        _("You're on the waitlist for %(event)s. We'll email you if a seat frees up.")
        % {"event": event.title},
    )
    return redirect("courses:my_registrations")


@owner()
@require_POST
def leave_waitlist(request, entry_id):
    entry = get_object_or_404(WaitlistEntry.objects.select_related("event"), pk=entry_id)
    if entry.user_id != request.user.pk:
        raise Http404("No such waitlist entry.")
    services.leave_waitlist(entry, actor=request.user)
    messages.success(
        request, _("You've left the waitlist for %(event)s.") % {"event": entry.event.title}
    )
    return redirect("courses:my_registrations")


@secret_link
@login_required
def waitlist_claim(request, token):
    """Someone offered a seat from the waitlist takes it: a hold, then the usual steps."""
    try:
        entry = services.get_waitlist_offer(token, request.user)
    except services.RegistrationError as error:
        return render(request, "courses/claim_invalid.html", {"message": error.message}, status=404)
    event = entry.event
    ticket_types = [t for t in event.ticket_types.all() if t.on_sale() and not t.access_code]
    if entry.ticket_type and entry.ticket_type not in ticket_types:
        ticket_types.insert(0, entry.ticket_type)
    if request.method == "POST":
        form = WaitlistClaimForm(
            request.POST, ticket_types=ticket_types, preferred=entry.ticket_type
        )
        if form.is_valid():
            try:
                booking = services.place_hold(
                    event=event,
                    purchaser=request.user,
                    tickets={form.cleaned_data["ticket_type"]: 1},
                    idempotency_key=form.cleaned_data["idempotency_key"],
                    waitlist_token=token,
                )
            except REFUSED as error:
                apply_service_error(form, error)
            else:
                return redirect("courses:booking_attendees", public_id=booking.public_id)
    else:
        form = WaitlistClaimForm(ticket_types=ticket_types, preferred=entry.ticket_type)
    return render(
        request,
        "courses/waitlist_claim.html",
        {"entry": entry, "event": event, "form": form},
    )
