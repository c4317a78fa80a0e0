"""Read-only questions the registration pages ask; nothing here changes state."""

import json
from collections import OrderedDict
from datetime import UTC, date

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import DateTimeField, Q, prefetch_related_objects
from django.db.models.expressions import RawSQL
from django.http import Http404
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.dates import MONTHS_3, WEEKDAYS_ABBR
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from cms.access import Perm, may_act_for_others
from cms.money import format_money
from courses import capacity, services
from courses.models import (
    AddOn,
    Booking,
    BookingStatus,
    EventFormat,
    EventPage,
    Material,
    Registration,
    RegistrationStatus,
    TicketType,
    WaitlistEntry,
    WaitlistStatus,
)

EVENTS_PER_PAGE = 10


def _month_value(moment):
    return f"{moment.year:04d}-{moment.month:02d}"


ON_DEMAND = EventFormat.ON_DEMAND.value


def event_listing(index_page, params, now=None):
    """The events index: upcoming (soonest first), past (latest first) or on-demand courses,
    filtered by format and month from the query string, one page at a time. Unknown filter
    values are ignored."""
    now = now or timezone.now()
    when = params.get("when") if params.get("when") in ("past", ON_DEMAND) else "upcoming"
    if when == ON_DEMAND:
        # Home-study courses have no dates: watched at any time, newest first.
        events = index_page.live_events().filter(format=EventFormat.ON_DEMAND)
        events = events.order_by("-first_published_at")
    else:
        events = index_page.live_events().exclude(starts_at__isnull=True)
    if when == "past":
        events = events.filter(ends_at__lt=now).order_by("-starts_at")
    elif when == "upcoming":
        events = events.filter(ends_at__gte=now).order_by("starts_at")
    months = (
        [_month_value(m) for m in events.dates("starts_at", "month")] if when != ON_DEMAND else []
    )
    if when == "past":
        months.reverse()

    selected_format = params.get("format", "")
    if selected_format in EventFormat.values:
        events = events.filter(format=selected_format)
    else:
        selected_format = ""
    selected_month = params.get("month", "")
    if selected_month in months:
        year, month = (int(part) for part in selected_month.split("-"))
        events = events.filter(starts_at__year=year, starts_at__month=month)
    else:
        selected_month = ""

    paginator = Paginator(events, EVENTS_PER_PAGE)
    page_obj = paginator.get_page(params.get("page"))
    query = {"when": when, "format": selected_format, "month": selected_month}
    extra_query = "".join(f"{key}={value}&" for key, value in query.items() if value)
    return {
        "when": when,
        "events": page_obj,
        "formats": [choice for choice in EventFormat.choices if choice[0] != ON_DEMAND],
        "months": [
            (value, date_format(date(int(value[:4]), int(value[5:]), 1), "F Y")) for value in months
        ],
        "selected_format": selected_format,
        "selected_month": selected_month,
        "extra_query": extra_query,
        "filtered": bool(selected_format or selected_month),
    }


def _clock(moment):
    """A time as Django's "g:i A" writes it: "2:00 PM"."""
    half = _("AM") if moment.hour < 12 else _("PM")
    return f"{moment.hour % 12 or 12}:{moment.minute:02d} {half}"


def _session_row(session, zone):
    """One schedule line with its times already in the event's zone and written out: done
    here once per session instead of by several template filters per session per visit."""
    start, end = session.start.astimezone(zone), session.end.astimezone(zone)
    day = f"{WEEKDAYS_ABBR[start.weekday()]} {start.day} {MONTHS_3[start.month].title()}"
    return {
        "title": session.title,
        "presenter": session.presenter,
        "ce_minutes": session.ce_minutes,
        "start": session.start,
        "end": session.end,
        "start_iso": start.isoformat(),
        "when": f"{day} {start.year}, {_clock(start)} – {_clock(end)} {end.tzname()}",
    }


def event_page_data(event):
    """Everything the event page lists, each fetched once per request and kept on the page
    object (the JSON-LD in the head and the body both use it; the query count must not grow
    with the schedule)."""
    data = getattr(event, "_event_page_data", None)
    if data is None:
        sessions = list(event.sessions.all().select_related("presenter"))
        zone = event.zone
        data = {
            "sessions": [_session_row(session, zone) for session in sessions],
            "total_ce_minutes": sum(s.ce_minutes for s in sessions),
            "benefits": list(event.benefits.all()),
            "presenters": list(event.presenters.all().select_related("photo")),
            "ticket_types": list(event.ticket_types.all()),
            "add_ons": list(event.add_ons.all()),
            # Whether registering asks a required question (no one-step registration then).
            "asks_required_question": event.questions.filter(required=True).exists(),
        }
        event._event_page_data = data
    return data


def upcoming_events(limit=3, now=None):
    """The next live events across the site, for the home page."""
    now = now or timezone.now()
    events = (
        EventPage.objects.live()
        .filter(ends_at__gte=now)
        .select_related("image")
        .prefetch_related("image__renditions")
        .order_by("starts_at")
    )
    return list(events[:limit])


def next_event_of_programme(programme_id, now=None):
    """The soonest live event of a programme that has not ended, e.g. for a certification
    candidate who still has to attend one; None when none is scheduled."""
    if not programme_id:
        return None
    now = now or timezone.now()
    return (
        EventPage.objects.live()
        .filter(programme_id=programme_id, ends_at__gte=now)
        .order_by("starts_at")
        .first()
    )


def booking_for(user, public_id):
    """The booking, if `user` bought it or manages events; anyone else gets a 404 (so the
    existence of other people's bookings is not revealed)."""
    booking = (
        Booking.objects.select_related("event", "purchaser").filter(public_id=public_id).first()
    )
    if booking is None:
        raise Http404("No such booking.")
    if booking.purchaser_id != user.pk and not may_act_for_others(user, Perm.MANAGE_REGISTRATIONS):
        raise Http404("No such booking.")
    return booking


def registration_for(user, public_id):
    """A registration its attendee or its purchaser may act on; 404 for anyone else."""
    registration = (
        Registration.objects.select_related("event", "booking", "ticket_type")
        .filter(public_id=public_id)
        .first()
    )
    if registration is None:
        raise Http404("No such registration.")
    allowed = user.pk in (registration.attendee_id, registration.booking.purchaser_id)
    if not allowed and not may_act_for_others(user, Perm.MANAGE_REGISTRATIONS):
        raise Http404("No such registration.")
    return registration


def my_bookings(user, now=None):
    """The bookings a person sees on "My registrations", split into upcoming and past.

    Each entry is one booking with the seats this person may see: all seats of a booking they
    bought (a coordinator's group), or only their own seat of a booking someone else bought.
    Held bookings whose hold has lapsed and bookings that never completed are left out.
    """
    now = now or timezone.now()
    visible = Q(attendee=user) | Q(booking__purchaser=user)
    registrations = (
        Registration.objects.filter(visible)
        .exclude(status=RegistrationStatus.EXPIRED)
        .select_related("event", "booking", "ticket_type", "transferred_to")
        .prefetch_related("add_on_lines__add_on")
        .order_by("event__starts_at", "booking_id", "id")
    )
    grouped = OrderedDict()
    for registration in registrations:
        booking = registration.booking
        if booking.status == BookingStatus.EXPIRED:
            continue
        # Someone else's checkout in progress is theirs to finish; the seat shows once confirmed.
        if booking.purchaser_id != user.pk and registration.status == RegistrationStatus.HELD:
            continue
        if booking.status == BookingStatus.HELD and booking.hold_has_expired(now):
            continue
        entry = grouped.setdefault(
            booking.pk,
            {
                "booking": booking,
                "event": registration.event,
                "is_purchaser": booking.purchaser_id == user.pk,
                "registrations": [],
            },
        )
        entry["registrations"].append(registration)

    # Each upcoming booking offers per-session calendar links: one query for every event's
    # sessions, not one per booking.
    prefetch_related_objects([entry["event"] for entry in grouped.values()], "sessions")
    events = {entry["event"].pk for entry in grouped.values()}
    materials = {}
    for material in Material.objects.filter(event_id__in=events).order_by("title"):
        materials.setdefault(material.event_id, []).append(material)

    upcoming, past = [], []
    for entry in grouped.values():
        event = entry["event"]
        entry["materials"] = materials.get(event.pk, [])
        (past if event.is_past else upcoming).append(entry)
    past.reverse()
    return upcoming, past


def my_waitlist_entries(user, now=None):
    """The person's places on waitlists, and offers that lapsed for events still to come
    (so a lapsed offer stays in view with a way to rejoin), unless they are back on that
    waitlist or claimed a seat since. Each lapsed entry says whether rejoining is possible."""
    now = now or timezone.now()
    entries = list(
        WaitlistEntry.objects.filter(user=user)
        .filter(
            Q(status__in=[WaitlistStatus.WAITING, WaitlistStatus.OFFERED])
            | Q(status=WaitlistStatus.EXPIRED, event__starts_at__gt=now)
        )
        .select_related("event")
        .order_by("created_at")
    )
    current = {e.event_id for e in entries if e.status != WaitlistStatus.EXPIRED}
    claimed = set(
        WaitlistEntry.objects.filter(
            user=user, status=WaitlistStatus.CLAIMED, event_id__in={e.event_id for e in entries}
        ).values_list("event_id", flat=True)
    )
    shown, lapsed_events = [], set()
    for entry in reversed(entries):  # the newest lapsed offer per event
        if entry.status == WaitlistStatus.EXPIRED:
            if entry.event_id in current | claimed | lapsed_events:
                continue
            lapsed_events.add(entry.event_id)
            entry.can_rejoin = entry.event.registration_is_open(now)
        shown.append(entry)
    shown.reverse()
    return shown


def active_registration(user, event, now=None):
    """The person's own confirmed seat at `event`, or a hold still running, if any."""
    if not user.is_authenticated:
        return None
    now = now or timezone.now()
    running_hold = Q(status=RegistrationStatus.HELD, booking__status=BookingStatus.HELD) & (
        Q(booking__expires_at__gt=now) | Q(booking__expires_at__isnull=True)
    )
    return (
        Registration.objects.filter(event=event, attendee=user)
        .filter(Q(status=RegistrationStatus.CONFIRMED) | running_hold)
        .select_related("booking")
        .order_by("status")
        .first()
    )


def member_prices(request, event, form):
    """What membership changes on the ticket rows: a member sees their price at once (the
    normal one struck through); anyone else sees the member price and a members-only ticket
    they cannot choose, each with the way to join. Membership is asked (one query) only when
    a ticket on sale depends on it; the hold asks again, and decides."""
    rows = [row for row in form.ticket_rows if row["ticket"].for_members]
    if not rows:
        return {}
    now = timezone.now()
    member = services.member_at(request.user, now)
    for row in rows:
        price = row["ticket"].price_for(member=True, now=now)
        if price < row["price"]:
            row["member_price_text"] = format_money(price, event.currency) if price else _("Free")
            row["member_price_applies"] = member
    # Members never see a join link: no need to look the join page up for them.
    join = "" if member else services.join_url(request)
    return {"member_prices": True, "is_member": member, "join_url": join}


# -- a hold attempt's first read --------------------------------------------------------------

# How each database builds a JSON array of rows, each row a JSON array of its columns.
ROWS_AS_JSON = {
    "postgresql": "json_agg(json_build_array({columns}))",
    "sqlite": "json_group_array(json_array({columns}))",
}
OFFER = {"offered_tickets_on_load": TicketType, "offered_add_ons_on_load": AddOn}


def event_for_hold(event_id, *, purchaser, idempotency_key="", now=None):
    """The live event a hold attempt is for (404 otherwise), read in one query with all the
    attempt needs before its choice: the seats taken now and the booking its key already made
    (`event.seats_counted`), and the ticket types and add-ons on offer (`offered_on_load`).

    In a rush each round trip is paid by every buyer, and the event, its count and its offer
    would otherwise be four. The offer is read from its rows at this moment, like the count:
    nothing is cached, so a price, access code or quota changed a moment ago already applies.
    """
    now = now or timezone.now()
    annotations = _offer_annotations()
    annotations.update(
        capacity.seats_counted_annotations(
            now, purchaser=purchaser, idempotency_key=idempotency_key
        )
    )
    found = list(EventPage.objects.raw(*_event_query(annotations, event_id)))
    if not found:
        raise Http404("No such event.")
    return capacity.attach_seats_counted(found[0], now, idempotency_key)


def _offer_annotations():
    rows_as_json = ROWS_AS_JSON.get(connection.vendor)
    if not rows_as_json:
        return {}
    event_column = f"{EventPage._meta.db_table}.{EventPage._meta.pk.column}"
    annotations = {}
    for name, model in OFFER.items():
        columns = ", ".join(f"o.{field.column}" for field in model._meta.concrete_fields)
        annotations[name] = RawSQL(  # noqa: S611 - names from _meta, no values
            f"SELECT {rows_as_json.format(columns=columns)}"  # noqa: S608 - as above
            f" FROM {model._meta.db_table} o WHERE o.event_id = {event_column}",
            [],
        )
    return annotations


# The text of the hold attempt's event query for each shape (database, columns), built by the
# ORM once per process: building it took longer than the database takes to answer it.
_event_query_texts = {}


def _event_query(annotations, event_id):
    """(sql, params) of the live event `event_id` with `annotations`. The parameters are the
    annotations' in order, then the id, as the ORM placed them when it built the text (checked
    then: if it placed them otherwise, its own text and parameters are used every time)."""
    shape = (connection.vendor, *annotations)
    params = [value for annotation in annotations.values() for value in annotation.params]
    params.append(event_id)
    sql = _event_query_texts.get(shape)
    if sql is None:
        events = EventPage.objects.live().annotate(**annotations).filter(pk=event_id).order_by()
        sql, built = events.query.sql_with_params()
        if list(built) != params:
            return sql, built
        _event_query_texts[shape] = sql
    return sql, params


def offered_on_load(event):
    """(ticket types, add-ons) of an event read by `event_for_hold`, each in its sort order;
    (None, None) when they were not read with it (the form then reads them itself)."""
    if not hasattr(event, "offered_tickets_on_load"):
        return None, None
    return tuple(_rows_from_json(model, getattr(event, name)) for name, model in OFFER.items())


def _rows_from_json(model, rows):
    if rows is None:  # PostgreSQL's json_agg of no rows
        return []
    if isinstance(rows, str):
        rows = json.loads(rows)
    fields = model._meta.concrete_fields
    names = [field.attname for field in fields]
    objects = [
        model.from_db(
            connection.alias, names, [_python_value(f, v) for f, v in zip(fields, row, strict=True)]
        )
        for row in rows
    ]
    # The models' own order (sort_order, unset last as PostgreSQL puts it), then the id.
    return sorted(objects, key=lambda o: (o.sort_order is None, o.sort_order or 0, o.pk))


def _python_value(field, value):
    """A column's JSON value as the field holds it (a JSON moment is text, maybe naive UTC)."""
    if value is None:
        return None
    if isinstance(field, DateTimeField):
        moment = parse_datetime(value)
        return moment if timezone.is_aware(moment) else moment.replace(tzinfo=UTC)
    return field.to_python(value)
