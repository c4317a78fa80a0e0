"""Staff screens for events (Wagtail admin): registrations, waitlists, materials, capacity,
rosters, manual registrations, approvals and messages. Only the Event manager role (and
superusers) may open them; every change goes through courses.services."""

from django import forms
from django.contrib import messages
from django.db.models import Count, Q
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST
from wagtail.admin.filters import WagtailFilterSet
from wagtail.admin.panels import FieldPanel, FieldRowPanel
from wagtail.admin.ui.menus import MenuItem as ActionMenuItem
from wagtail.admin.ui.tables import Column
from wagtail.admin.views.generic import EditView, IndexView
from wagtail.admin.viewsets.base import ViewSet, ViewSetGroup
from wagtail.admin.viewsets.model import ModelViewSet

from cms.access import Perm, can, staff
from cms.admin_access import CapabilityViewSetMixin, menu_item_class_for
from courses import exports, services
from courses.forms import TransferForm
from courses.models import (
    ApprovalStatus,
    Booking,
    BookingKind,
    BookingStatus,
    EventPage,
    Material,
    Registration,
    RegistrationStatus,
    TicketType,
    WaitlistEntry,
    WaitlistStatus,
)

MANAGE = Perm.MANAGE_REGISTRATIONS
EventManagerMenuItem = menu_item_class_for(MANAGE)


# -- registrations -------------------------------------------------------------------------------


class RegistrationEditView(EditView):
    """Staff correct attendee details; the change is made (and audited) by the service."""

    def save_instance(self):
        registration = Registration.objects.get(pk=self.object.pk)
        data = {
            name: value
            for name, value in self.form.cleaned_data.items()
            if name in services.ATTENDEE_FIELDS
        }
        return services.update_attendee_details(registration, data, actor=self.request.user)


class RegistrationIndexView(IndexView):
    """Each confirmed seat's menu offers the staff actions: cancel and transfer, at any time."""

    def get_base_queryset(self):
        # Wagtail 7.4 builds the listing (and its export) from the index view's
        # get_base_queryset, never from the viewset: the columns' related rows are joined
        # here, so a page of 200 seats costs the same queries as a page of 10.
        return (
            super()
            .get_base_queryset()
            .select_related("event", "ticket_type")
            .prefetch_related("watch_progress", "event__recordings")
        )

    def get_list_more_buttons(self, instance):
        buttons = super().get_list_more_buttons(instance)
        if instance.status == RegistrationStatus.CONFIRMED:
            buttons += [
                ActionMenuItem(
                    _("Transfer to someone else"),
                    url=reverse("courses_admin:transfer_registration", args=[instance.pk]),
                    icon_name="user",
                    priority=40,
                ),
                ActionMenuItem(
                    _("Cancel registration"),
                    url=reverse("courses_admin:cancel_registration", args=[instance.pk]),
                    icon_name="warning",
                    priority=50,
                ),
            ]
        return buttons


class RegistrationFilterSet(WagtailFilterSet):
    class Meta:
        model = Registration
        fields = ["event", "status", "wants_ce"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The field's own name would read "Wants ce"; the column is headed "CE".
        self.filters["wants_ce"].label = _("CE requested")


def _watched(registration):
    percent = services.watched_percent(registration)
    return "" if percent is None else f"{percent}%"


class RegistrationViewSet(CapabilityViewSetMixin, ModelViewSet):
    model = Registration
    name = "course_registrations"
    icon = "group"
    menu_label = _("All registrations")
    edit_view_class = RegistrationEditView
    index_view_class = RegistrationIndexView
    inspect_view_enabled = True
    copy_view_enabled = False
    search_backend_name = None
    search_fields = ["attendee_name", "attendee_email", "license_number"]
    list_display = [
        "attendee_name",
        "attendee_email",
        "event",
        "ticket_type",
        "status",
        # Staff read "CE: Yes/No" at a glance; the model's field name reads "Wants ce: True".
        Column("wants_ce", label=_("CE"), accessor=lambda r: _("Yes") if r.wants_ce else _("No")),
        # On-demand courses: the share of the recordings played (blank without recordings).
        Column("watched", label=_("Watched"), accessor=_watched),
    ]
    filterset_class = RegistrationFilterSet
    ordering = ["event", "attendee_name"]
    list_export = [
        "attendee_name",
        "attendee_email",
        "event",
        "ticket_type",
        "status",
        "profession",
        "license_number",
        "license_jurisdiction",
        "wants_ce",
        "accessibility_needs",
        "dietary_needs",
        "unit_price",
    ]
    export_filename = "registrations"
    panels = [
        FieldPanel("attendee_name"),
        FieldPanel("attendee_email"),
        FieldRowPanel([FieldPanel("license_number"), FieldPanel("license_jurisdiction")]),
        FieldRowPanel([FieldPanel("profession"), FieldPanel("wants_ce")]),
        FieldPanel("accessibility_needs"),
        FieldPanel("dietary_needs"),
    ]

    capability = MANAGE
    # Seats are created by checkout or the manual-registration form, never "added" here.
    capability_actions = ("change", "view")


class WaitlistIndexView(IndexView):
    def get_base_queryset(self):
        # Where Wagtail 7.4 builds the listing: one query for the page, however many rows.
        return super().get_base_queryset().select_related("event", "user")


class WaitlistViewSet(CapabilityViewSetMixin, ModelViewSet):
    model = WaitlistEntry
    name = "course_waitlist"
    icon = "time"
    index_view_class = WaitlistIndexView
    menu_label = _("Waitlists")
    inspect_view_enabled = True
    copy_view_enabled = False
    search_backend_name = None
    search_fields = ["user__email", "user__legal_name"]
    list_display = ["user", "event", "status", "created_at", "offer_expires_at"]
    list_filter = ["event", "status"]
    ordering = ["event", "created_at"]
    list_export = ["user", "user.email", "event", "status", "created_at", "offer_expires_at"]
    export_filename = "waitlist"
    form_fields = ["status"]

    capability = MANAGE
    capability_actions = ("view",)


class MaterialViewSet(CapabilityViewSetMixin, ModelViewSet):
    """Staff attach slides and manuals to an event; files go to the private storage."""

    model = Material
    name = "course_materials"
    icon = "doc-full"
    menu_label = _("Event materials")
    copy_view_enabled = False
    search_backend_name = None
    search_fields = ["title"]
    list_display = ["title", "event", "kind", "available_from"]
    list_filter = ["event", "kind"]
    form_fields = ["event", "title", "kind", "file", "available_from"]

    capability = MANAGE


# -- capacity overview and per-event actions ------------------------------------------------------


def _admin_page(request, template, title, context, *, icon="calendar"):
    return TemplateResponse(
        request,
        f"courses/admin/{template}",
        {"page_title": title, "header_title": title, "header_icon": icon, **context},
    )


def capacity_rows(events, now=None):
    """Per event: capacity, confirmed, unexpired holds, open offers, seats left, waiting."""
    now = now or timezone.now()
    events = list(events)
    counts = {
        row["event"]: row
        for row in Registration.objects.filter(event__in=events)
        .values("event")
        .annotate(
            confirmed=Count("pk", filter=Q(status=RegistrationStatus.CONFIRMED)),
            held=Count(
                "pk",
                filter=Q(status=RegistrationStatus.HELD)
                & (Q(booking__expires_at__gt=now) | Q(booking__expires_at__isnull=True)),
            ),
        )
    }
    waiting = {
        row["event"]: row
        for row in WaitlistEntry.objects.filter(event__in=events)
        .values("event")
        .annotate(
            waiting=Count("pk", filter=Q(status=WaitlistStatus.WAITING)),
            offered=Count("pk", filter=Q(status=WaitlistStatus.OFFERED, offer_expires_at__gt=now)),
        )
    }
    rows = []
    for event in events:
        c = counts.get(event.pk, {})
        w = waiting.get(event.pk, {})
        taken = c.get("confirmed", 0) + c.get("held", 0) + w.get("offered", 0)
        rows.append(
            {
                "event": event,
                "capacity": event.capacity,
                "confirmed": c.get("confirmed", 0),
                "held": c.get("held", 0),
                "offered": w.get("offered", 0),
                "waiting": w.get("waiting", 0),
                "left": max(0, event.capacity - taken),
                "starts": event.local(event.starts_at),
            }
        )
    return rows


@staff(MANAGE)
def capacity_overview(request):
    now = timezone.now()
    show_past = request.GET.get("when") == "past"
    events = EventPage.objects.exclude(starts_at__isnull=True)
    events = (
        events.filter(ends_at__lt=now).order_by("-starts_at")
        if show_past
        else events.filter(ends_at__gte=now).order_by("starts_at")
    )
    pending = (
        Booking.objects.filter(approval_status=ApprovalStatus.PENDING, status=BookingStatus.HELD)
        .select_related("event", "purchaser")
        .prefetch_related("registrations__ticket_type")
        .order_by("created_at")
    )
    return _admin_page(
        request,
        "capacity_overview.html",
        _("Capacity overview"),
        {"rows": capacity_rows(events[:100], now), "pending": pending, "show_past": show_past},
    )


@staff(MANAGE)
def roster_export(request, event_id, extension):
    event = get_object_or_404(EventPage, pk=event_id)
    if extension not in ("csv", "xlsx"):
        raise Http404("Rosters come as .csv or .xlsx.")
    if extension == "csv":
        content, content_type = exports.roster_csv(event), "text/csv; charset=utf-8"
    else:
        content = exports.roster_xlsx(event)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    response = HttpResponse(content, content_type=content_type)
    filename = exports.roster_filename(event, extension)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


class MessageRegistrantsForm(forms.Form):
    subject = forms.CharField(label=_("Subject"), max_length=200)
    body = forms.CharField(
        label=_("Message"), widget=forms.Textarea(attrs={"rows": 10}), max_length=10000
    )


@staff(MANAGE)
def message_registrants(request, event_id):
    event = get_object_or_404(EventPage, pk=event_id)
    form = MessageRegistrantsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        sent = services.message_registrants(
            event,
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
            actor=request.user,
        )
        messages.success(request, _("Message queued for %(count)s registrants.") % {"count": sent})
        return redirect("courses_admin:overview")
    return _admin_page(
        request,
        "message_registrants.html",
        _("Message all registrants"),
        {
            "event": event,
            "form": form,
            "recipients": services.registrants_to_message(event).count(),
        },
        icon="mail",
    )


class ManualRegistrationForm(forms.Form):
    ticket_type = forms.ModelChoiceField(label=_("Ticket type"), queryset=TicketType.objects.none())
    attendee_name = forms.CharField(label=_("Legal name"), max_length=200)
    attendee_email = forms.EmailField(label=_("Email"))
    kind = forms.ChoiceField(
        label=_("Kind"),
        choices=[
            (BookingKind.COMPLIMENTARY, _("Complimentary")),
            (BookingKind.SPEAKER, _("Speaker")),
        ],
    )
    wants_ce = forms.BooleanField(label=_("Wants CE credit"), required=False)

    def __init__(self, *args, event, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ticket_type"].queryset = TicketType.objects.filter(event=event)


@staff(MANAGE)
def manual_registration(request, event_id):
    event = get_object_or_404(EventPage, pk=event_id)
    form = ManualRegistrationForm(request.POST or None, event=event)
    if request.method == "POST" and form.is_valid():
        try:
            registration = services.register_manually(
                event,
                ticket_type=form.cleaned_data["ticket_type"],
                attendee_name=form.cleaned_data["attendee_name"],
                attendee_email=form.cleaned_data["attendee_email"],
                kind=form.cleaned_data["kind"],
                wants_ce=form.cleaned_data["wants_ce"],
                actor=request.user,
            )
        except services.RegistrationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("%(name)s is registered for %(event)s.")
                % {"name": registration.attendee_name, "event": event.title},
            )
            return redirect("courses_admin:overview")
    return _admin_page(
        request,
        "manual_registration.html",
        _("Add a registration"),
        {"event": event, "form": form},
        icon="user",
    )


@staff(MANAGE)
@require_POST
def decide_approval(request, booking_id):
    booking = get_object_or_404(Booking, pk=booking_id)
    approve = request.POST.get("decision") == "approve"
    services.decide_approval(booking, approve=approve, actor=request.user)
    messages.success(request, _("Approved.") if approve else _("Rejected; the seat is released."))
    return redirect("courses_admin:overview")


@staff(MANAGE)
def cancel_registration(request, registration_id):
    registration = get_object_or_404(
        Registration.objects.select_related("event"), pk=registration_id
    )
    if request.method == "POST":
        services.cancel_registration(registration, actor=request.user, note="by staff")
        messages.success(request, _("The registration is cancelled and the seat freed."))
        return redirect("courses_admin:overview")
    return _admin_page(
        request,
        "cancel_registration.html",
        _("Cancel a registration"),
        {"registration": registration},
        icon="warning",
    )


@staff(MANAGE)
def transfer_registration(request, registration_id):
    """Staff give a confirmed seat to another person at any time (no attendee cut-off)."""
    registration = get_object_or_404(
        Registration.objects.select_related("event", "booking"), pk=registration_id
    )
    form = TransferForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.transfer_registration(
                registration,
                new_name=form.cleaned_data["new_name"],
                new_email=form.cleaned_data["new_email"],
                actor=request.user,
            )
        except services.RegistrationError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(
                request,
                _("The seat now belongs to %(name)s; both attendees are emailed.")
                % {"name": form.cleaned_data["new_name"]},
            )
            return redirect("course_registrations:index")
    return _admin_page(
        request,
        "transfer_registration.html",
        _("Transfer a registration"),
        {"registration": registration, "form": form},
        icon="user",
    )


class EventAdminViewSet(ViewSet):
    name = "courses_admin"
    icon = "calendar"
    menu_label = _("Capacity overview")
    url_prefix = "events-admin"

    @property
    def menu_item_class(self):
        return EventManagerMenuItem

    def get_urlpatterns(self):
        return [
            path("", capacity_overview, name="overview"),
            path("events/<id:event_id>/roster.<text:extension>", roster_export, name="roster"),
            path("events/<id:event_id>/message/", message_registrants, name="message"),
            path("events/<id:event_id>/register/", manual_registration, name="register"),
            path("bookings/<id:booking_id>/approval/", decide_approval, name="approval"),
            path(
                "registrations/<id:registration_id>/cancel/",
                cancel_registration,
                name="cancel_registration",
            ),
            path(
                "registrations/<id:registration_id>/transfer/",
                transfer_registration,
                name="transfer_registration",
            ),
        ]


class EventAdminGroup(ViewSetGroup):
    # Short enough for the admin sidebar ("Event registrations" was cut to "Event registrati…").
    menu_label = _("Registrations")
    menu_icon = "calendar-check"
    menu_order = 250
    items = (EventAdminViewSet, RegistrationViewSet, WaitlistViewSet, MaterialViewSet)

    def get_menu_item(self, order=None):
        item = super().get_menu_item(order)
        item.is_shown = lambda request: can(request.user, MANAGE)
        return item
