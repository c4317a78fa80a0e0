"""Template helpers for the event and registration pages."""

from django import template
from django.core.cache import cache
from django.templatetags.tz import do_timezone
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from cms import page_cache
from cms.dates import date_range
from cms.money import format_money
from cms.templatetags.cms_tags import FRAGMENT_SECONDS, _plain_json_for_script
from courses import queries, services
from courses.forms import OneStepForm, RegistrationChoiceForm
from courses.license_formats import jurisdiction_name
from courses.models import EventIndexPage, RegistrationStatus, WaitlistStatus

register = template.Library()


@register.filter
def in_zone(value, zone_name):
    """The datetime in the event's IANA zone, so it reads as it will for people there.

    Built on Django's `timezone` filter, whose result the `date` filter leaves in that zone.
    """
    if value is None or not zone_name:
        return value
    return do_timezone(value, str(zone_name))


@register.simple_tag
def event_dates(event, weekday=False):
    """The event's days in its own zone, in the site's long style: "2–6 February 2026" (or
    "Tuesday 2 February 2026" for one day with `weekday`)."""
    if not event.starts_at:
        return ""
    first = event.local(event.starts_at).date()
    last = event.local(event.ends_at or event.starts_at).date()
    if first == last and weekday:
        return date_format(first, "l j F Y")
    return date_range(first, last)


@register.filter
def money(amount_minor_units, currency):
    """Integer minor units with their currency: 45000, "USD" -> "$450.00"."""
    return format_money(amount_minor_units, currency)


@register.filter
def jurisdiction(code):
    """A license jurisdiction's name for people ("OTHER_US" -> "Another U.S. state")."""
    return jurisdiction_name(code) if code else ""


@register.filter
def ce_hours(minutes):
    """CE minutes as hours for people: 1620 -> "27", 90 -> "1.5"."""
    hours = (minutes or 0) / 60
    return f"{hours:g}" if hours == int(hours) else f"{hours:.2f}".rstrip("0")


@register.simple_tag(takes_context=True)
def event_listing(context, index_page):
    """The filtered, paginated events for the index page (filters come from the query string)."""
    request = context.get("request")
    return queries.event_listing(index_page, request.GET if request else {})


@register.simple_tag
def upcoming_events(limit=3):
    return queries.upcoming_events(limit)


def _page_data(request, event):
    """`queries.event_page_data`, shared between visitors through the cache.

    The schedule, benefits, presenters, ticket types and add-ons are the same for everyone
    and change only with the content, so they are kept under the content generation
    (`cms.page_cache`, moved by every publish, unpublish, move, delete or content save): a
    publish shows at once. A preview (unsaved edits) and an unsaved page always read afresh.
    """
    if event.pk is None or getattr(request, "is_preview", False):
        return queries.event_page_data(event)
    data = getattr(event, "_event_page_data", None)
    if data is not None:
        return data
    key = f"fragment:event-data:{page_cache.generation()}:{event.pk}:{translation.get_language()}"
    data = cache.get(key)
    if data is None:
        data = queries.event_page_data(event)
        cache.set(key, data, FRAGMENT_SECONDS)
    event._event_page_data = data
    return data


@register.simple_tag(takes_context=True)
def event_page_data(context, event):
    """Everything the event page lists, each fetched once (the page is read far more often
    than it changes, and its query count must not grow with the schedule)."""
    return _page_data(context.get("request"), event)


@register.simple_tag(takes_context=True)
def event_json_ld(context, event):
    """schema.org Event data as an ld+json block, escaped so no value can end the element."""
    if event.pk is None:
        return ""  # an unsaved preview: no seats to count, nothing for search engines yet

    request = context.get("request")
    data = event.schema_org(request, _page_data(request, event))
    return format_html(
        '<script type="application/ld+json">{}</script>',
        mark_safe(_plain_json_for_script(data)),  # noqa: S308 - escaped for <script> context
    )


def _member_prices(request, event, form, authenticated):
    """What membership changes on the ticket rows, as on the register page: a signed-in
    member sees their own price and may choose a members-only ticket; a signed-in non-member
    sees the member price with the way to join. An anonymous visitor gets the rows everyone
    gets (the member price told, members-only rates booked on the register page): their copy
    is shared by the page cache, and they may be a member not yet signed in. Personal rows
    are never shared: a signed-in request carries a session cookie and its form a CSRF token,
    either of which keeps the page out of the anonymous cache (cms/page_cache.py)."""
    if form is None or not authenticated:
        return {}
    return queries.member_prices(request, event, form)


@register.inclusion_tag("courses/includes/registration_box.html", takes_context=True)
def registration_box(context, event, data=None):
    """What the event page offers right now: the ticket form, the waitlist or a closed note."""
    request = context.get("request")
    user = getattr(request, "user", None)
    now = timezone.now()
    seats_left = event.seats_left if event.pk else event.capacity
    opens = event.registration_opens_at
    if event.pk is None:
        # An editor's preview of a page not yet saved: there is nothing to register for.
        state = "preview"
    elif opens and now < opens:
        state = "not_yet_open"
    elif not event.registration_is_open(now):
        state = "closed"
    elif seats_left == 0:
        state = "sold_out"
    else:
        state = "open"
    authenticated = bool(user and user.is_authenticated)
    on_waitlist = None
    if authenticated and state == "sold_out":
        on_waitlist = next(
            (e for e in queries.my_waitlist_entries(user) if e.event_id == event.pk), None
        )
    existing = queries.active_registration(user, event) if authenticated else None
    one_step = None
    if state == "open" and authenticated and existing is None:
        ticket = services.one_step_ticket(
            event,
            purchaser=user,
            ticket_types=data["ticket_types"] if data else None,
            add_ons=data["add_ons"] if data else None,
            # .get: data cached by an earlier release lacks it (then the question is asked).
            asks_required_question=data.get("asks_required_question") if data else None,
            now=now,
        )
        if ticket is not None:
            ce_minutes = data["total_ce_minutes"] if data else event.total_ce_minutes
            one_step = {"ticket": ticket, "form": OneStepForm(ce_offered=ce_minutes > 0)}
    form = (
        RegistrationChoiceForm(
            event,
            now=now,
            ticket_types=data["ticket_types"] if data else None,
            add_ons=data["add_ons"] if data else None,
        )
        if state == "open" and one_step is None
        else None
    )
    return {
        **_member_prices(request, event, form, authenticated),
        "request": request,
        "event": event,
        "state": state,
        "one_step": one_step,
        "seats_left": seats_left,
        "opens": opens,
        "closes": event.registration_closes_at or event.starts_at,
        "authenticated": authenticated,
        "anonymous": not authenticated,
        "existing": existing,
        "on_waitlist": on_waitlist,
        "form": form,
        "csrf_token": context.get("csrf_token"),
        # An inclusion tag's context has no context processors: the enums the box compares.
        "RegistrationStatus": RegistrationStatus,
        "WaitlistStatus": WaitlistStatus,
    }


@register.simple_tag
def event_index():
    """The site's events index page, for "browse events" links."""
    return EventIndexPage.objects.live().first()
