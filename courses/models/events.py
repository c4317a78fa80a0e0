"""What staff publish: event pages, their programme, presenters and schedule (what an event
sells and asks is in `tickets`)."""

import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _
from modelcluster.fields import ParentalKey, ParentalManyToManyField
from wagtail import blocks
from wagtail.admin.panels import (
    FieldPanel,
    FieldRowPanel,
    InlinePanel,
    MultiFieldPanel,
    ObjectList,
    TabbedInterface,
)
from wagtail.fields import RichTextField, StreamField
from wagtail.images.blocks import ImageChooserBlock
from wagtail.models import Orderable, Page
from wagtail.search import index
from wagtail.snippets.models import register_snippet

from cms.images import require_alt_text
from cms.links import absolute_page_url, absolute_url
from cms.models import OneQueryViewRestrictions, SiteSettings
from courses import publishing
from courses.admin_forms import EventPageForm
from courses.event_page_fragments import EventPageFragments
from courses.postal_address import postal_address

# The admin reads and shows date-times in the editor's own zone, not the event's.
ADMIN_TIME_HELP = _(
    "Enter times in your admin time zone (Account › Preferences › Current time zone); "
    "visitors see them in the event's time zone."
)


def validate_time_zone(value):
    """Reject anything that is not an IANA zone name, so times always convert."""
    if value not in zoneinfo.available_timezones():
        raise ValidationError(
            _("“%(value)s” is not a time zone name. Use an IANA name such as America/New_York."),
            params={"value": value},
        )


class EventFormat(models.TextChoices):
    CONFERENCE = "conference", _("In-person conference")
    WORKSHOP = "workshop", _("In-person workshop")
    TRAINING = "training", _("Training")
    WEBINAR = "webinar", _("Live webinar")
    ON_DEMAND = "on_demand", _("On-demand course (home study)")


@register_snippet
class Programme(models.Model):
    """A recurring programme (e.g. Training of Trainers); certification tracks point at it."""

    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)

    panels = [FieldPanel("name"), FieldPanel("slug"), FieldPanel("description")]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


@register_snippet
class Presenter(index.Indexed, models.Model):
    """A person who teaches at events; shown on event pages and the schedule."""

    name = models.CharField(max_length=200)
    credentials = models.CharField(
        max_length=200, blank=True, help_text=_("For example: PhD, LCSW.")
    )
    bio = RichTextField(blank=True, features=["bold", "italic", "link"])
    photo = models.ForeignKey(
        "wagtailimages.Image", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    panels = [FieldPanel("name"), FieldPanel("credentials"), FieldPanel("bio"), FieldPanel("photo")]
    search_fields = [index.SearchField("name"), index.AutocompleteField("name")]

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name}, {self.credentials}" if self.credentials else self.name


EVENT_MANAGER_PAGE_PERMISSIONS = [
    "add_page",
    "change_page",
    "publish_page",
    "lock_page",
    "unlock_page",
]


def grant_event_manager_page_permissions(page):
    """Event managers publish and edit everything under the events index, and nothing else.

    "Event managers" are the groups holding `courses.manage_registrations`, whatever they are
    called.
    """
    from django.contrib.auth.models import Group, Permission
    from wagtail.models import GroupPagePermission

    groups = Group.objects.filter(
        permissions__content_type__app_label="courses",
        permissions__codename="manage_registrations",
    )
    page_permissions = Permission.objects.filter(
        content_type__app_label="wagtailcore", codename__in=EVENT_MANAGER_PAGE_PERMISSIONS
    )
    for group in groups:
        for permission in page_permissions:
            GroupPagePermission.objects.get_or_create(group=group, page=page, permission=permission)


class EventIndexPage(Page):
    """The list of events: upcoming first, then past; filtered by format and month."""

    intro = RichTextField(blank=True)

    content_panels = Page.content_panels + [FieldPanel("intro")]
    parent_page_types = ["cms.HomePage"]
    subpage_types = ["courses.EventPage"]
    max_count = 1

    def save(self, *args, **kwargs):
        is_new = self._state.adding
        super().save(*args, **kwargs)
        if is_new:
            grant_event_manager_page_permissions(self)

    def route(self, request, path_components):
        """Every child is an event: fetch it as an EventPage in one query (Page.route asks
        for the page row and then again for the specific page on every visit)."""
        if path_components:
            event = EventPage.objects.child_of(self).filter(slug=path_components[0]).first()
            if event is not None:
                event._cached_parent_obj = self
                return event.route(request, path_components[1:])
        return super().route(request, path_components)

    def live_events(self):
        # Cards show each event's picture: the image row and its renditions come with the list.
        return (
            EventPage.objects.live()
            .descendant_of(self)
            .select_related("programme", "image")
            .prefetch_related("image__renditions")
        )

    def upcoming_events(self):
        return self.live_events().filter(ends_at__gte=timezone.now()).order_by("starts_at")

    def past_events(self):
        return self.live_events().filter(ends_at__lt=timezone.now()).order_by("-starts_at")


class EventDescriptionBlock(blocks.StreamBlock):
    heading = blocks.CharBlock(form_classname="title", icon="title")
    paragraph = blocks.RichTextBlock(features=["bold", "italic", "link", "ol", "ul"])
    image = ImageChooserBlock()
    quote = blocks.BlockQuoteBlock()


class EventPage(OneQueryViewRestrictions, Page):
    """One event people register for: a conference, workshop, training or live webinar."""

    format = models.CharField(max_length=20, choices=EventFormat.choices)
    programme = models.ForeignKey(
        Programme, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    summary = models.TextField(help_text=_("One or two sentences for listings and search."))
    description = StreamField(EventDescriptionBlock(), blank=True)
    presenters = ParentalManyToManyField(Presenter, blank=True, related_name="events")
    image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_(
            "Shown on the event's page and cards and when the link is shared. It needs a "
            "description (alt text) in Images."
        ),
    )

    # Kept in step with the schedule on save, so listings can sort and filter by date.
    starts_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    ends_at = models.DateTimeField(null=True, blank=True, editable=False, db_index=True)
    time_zone = models.CharField(
        max_length=64,
        default="America/New_York",
        validators=[validate_time_zone],
        help_text=_("IANA name of the zone the event's times are shown in, e.g. America/Chicago."),
    )

    venue_name = models.CharField(max_length=200, blank=True)
    venue_address = models.TextField(blank=True)
    join_url = models.URLField(
        blank=True, help_text=_("The webinar link; only confirmed registrants see it.")
    )
    online_details = models.TextField(
        blank=True, help_text=_("Dial-in numbers or other joining instructions.")
    )
    join_link_visible_minutes_before = models.PositiveIntegerField(
        default=60, help_text=_("How long before the first session registrants see the link.")
    )

    registration_opens_at = models.DateTimeField(null=True, blank=True)
    registration_closes_at = models.DateTimeField(null=True, blank=True)
    capacity = models.PositiveIntegerField(help_text=_("Seats for the whole event."))
    hold_minutes = models.PositiveIntegerField(
        default=20, help_text=_("How long a seat stays reserved while someone checks out.")
    )
    waitlist_offer_hours = models.PositiveIntegerField(
        default=48, help_text=_("How long a waitlisted person has to claim an offered seat.")
    )
    cancellation_cutoff_hours = models.PositiveIntegerField(
        default=72,
        help_text=_("Attendees can cancel or transfer until this many hours before the start."),
    )
    ce_summary = RichTextField(blank=True, features=["bold", "italic", "link", "ul"])
    learning_objectives = RichTextField(
        blank=True,
        features=["ul", "ol", "bold", "italic"],
        help_text=_(
            "What attendees will be able to do afterwards, one per list item; boards require "
            "these in promotional material for CE programs."
        ),
    )
    currency = models.CharField(max_length=3, default="USD")
    included_membership = models.ForeignKey(
        "courses.MembershipPlan",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="including_events",
        verbose_name=_("membership included"),
        help_text=_(
            "Each confirmed attendee gets one period of this plan, added to their membership "
            "(the Training of Trainers includes a year of the member site)."
        ),
    )

    content_panels = Page.content_panels + [
        FieldRowPanel([FieldPanel("format"), FieldPanel("programme")]),
        FieldPanel("summary"),
        FieldPanel("image"),
        FieldPanel("description"),
        InlinePanel("benefits", label=_("What participants receive")),
        FieldPanel("presenters"),
        MultiFieldPanel(
            [FieldPanel("time_zone"), InlinePanel("sessions", label=_("Session"))],
            heading=_("Schedule"),
        ),
        InlinePanel(
            "recordings",
            label=_("Recording"),
            heading=_("Recordings (on-demand courses)"),
            help_text=_("Attendees watch these in order; their progress is recorded."),
        ),
        MultiFieldPanel(
            [
                FieldPanel("venue_name"),
                FieldPanel("venue_address"),
                FieldPanel("join_url"),
                FieldPanel("online_details"),
                FieldPanel("join_link_visible_minutes_before"),
            ],
            heading=_("Where"),
        ),
        FieldPanel("ce_summary"),
        FieldPanel("learning_objectives"),
    ]
    registration_panels = [
        MultiFieldPanel(
            [
                FieldRowPanel(
                    [FieldPanel("registration_opens_at"), FieldPanel("registration_closes_at")],
                    help_text=ADMIN_TIME_HELP,
                ),
                FieldRowPanel([FieldPanel("capacity"), FieldPanel("currency")]),
                FieldRowPanel([FieldPanel("hold_minutes"), FieldPanel("waitlist_offer_hours")]),
                FieldPanel("cancellation_cutoff_hours"),
            ],
            heading=_("Registration"),
        ),
        InlinePanel("ticket_types", label=_("Ticket type"), min_num=1),
        InlinePanel("add_ons", label=_("Add-on")),
        InlinePanel("questions", label=_("Registration question")),
        FieldPanel("included_membership"),
    ]
    search_fields = Page.search_fields + [
        index.SearchField("summary"),
        index.FilterField("starts_at"),
        index.FilterField("format"),
    ]

    parent_page_types = ["courses.EventIndexPage"]
    subpage_types = []
    base_form_class = EventPageForm

    edit_handler = TabbedInterface(
        [
            ObjectList(content_panels, heading=_("Content")),
            ObjectList(registration_panels, heading=_("Registration")),
            ObjectList(Page.promote_panels, heading=_("Promote")),
            ObjectList(Page.settings_panels, heading=_("Settings")),
        ]
    )

    class Meta:
        ordering = ["starts_at"]

    # -- time -------------------------------------------------------------------------------

    @property
    def zone(self):
        return zoneinfo.ZoneInfo(self.time_zone)

    def local(self, moment):
        """A UTC moment shown in the event's zone."""
        return timezone.localtime(moment, self.zone) if moment else None

    def save(self, *args, **kwargs):
        sessions = [s for s in self.sessions.all() if s.start and s.end]
        if sessions:
            self.starts_at = min(s.start for s in sessions)
            self.ends_at = max(s.end for s in sessions)
        super().save(*args, **kwargs)

    def publish(self, revision, *args, log_action=True, **kwargs):
        # A scheduled go-live is judged when it comes, by the rules apps register (the edit
        # view's hooks judged it when it was scheduled): see courses.publishing.
        if log_action == publishing.SCHEDULED_GO_LIVE:
            reason = publishing.go_live_refusal(revision)
            if reason:
                publishing.refuse_go_live(self, revision, reason)
                return None
        return super().publish(revision, *args, log_action=log_action, **kwargs)

    def clean(self):
        super().clean()
        require_alt_text(self.image, "image")
        if (
            self.registration_opens_at
            and self.registration_closes_at
            and self.registration_closes_at <= self.registration_opens_at
        ):
            raise ValidationError(
                {"registration_closes_at": _("Registration must close after it opens.")}
            )

    # -- state for templates and services ---------------------------------------------------

    @property
    def is_online(self):
        return self.format == EventFormat.WEBINAR

    @property
    def is_past(self):
        return bool(self.ends_at and self.ends_at < timezone.now())

    def registration_is_open(self, now=None):
        now = now or timezone.now()
        if self.registration_opens_at and now < self.registration_opens_at:
            return False
        closes = self.registration_closes_at or self.starts_at
        return not (closes and now >= closes)

    @property
    def cancellation_deadline(self):
        if not self.starts_at:
            return None
        return self.starts_at - timedelta(hours=self.cancellation_cutoff_hours)

    @property
    def join_link_visible_from(self):
        if not self.starts_at:
            return None
        return self.starts_at - timedelta(minutes=self.join_link_visible_minutes_before)

    @cached_property
    def seats_left(self):
        """Seats still available right now (confirmed and unexpired holds count as taken)."""
        # Real cycle: courses.capacity imports courses.models, which is still loading this file.
        from courses.capacity import event_seats_left

        return event_seats_left(self)

    @property
    def total_ce_minutes(self):
        return sum(s.ce_minutes for s in self.sessions.all())

    @property
    def offers_ce_credit(self):
        """Whether registering asks about CE: a live event counts CE minutes in its sessions;
        an on-demand course has no sessions, its credit is the home-study hours of its CE
        offerings (certification decides who earns them)."""
        return self.format == EventFormat.ON_DEMAND or self.total_ce_minutes > 0

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        # What the template's cached fragments (the same for every visitor) are kept under.
        context["fragments"] = EventPageFragments(self, request)
        return context

    # -- the anonymous page cache (cms/page_cache.py) ---------------------------------------

    def page_cache_state(self):
        """What the page cache keeps to tell, without loading this page, which copy of it a
        visitor should get: the seat count is read live on every request, and each moment
        that changes what the page offers (registration opens or closes, a ticket goes on or
        off sale, an early-bird price ends) starts a new copy."""
        moments = [self.registration_opens_at, self.registration_closes_at or self.starts_at]
        # Real cycle: courses.queries imports courses.models, which is still loading this file.
        from courses.queries import event_page_data

        for ticket in event_page_data(self)["ticket_types"]:
            moments += [ticket.sale_starts_at, ticket.sale_ends_at, ticket.early_bird_until]
        return {
            "pk": self.pk,
            "capacity": self.capacity,
            "moments": sorted(moment for moment in moments if moment),
        }

    @classmethod
    def page_cache_variant(cls, state, now=None, rendered=None):
        """The copy of the page that is right now: seats left (counted now, or as `rendered`
        showed them) and how many of the state's moments have passed."""
        # Real cycle: courses.capacity imports courses.models, which is still loading this file.
        from courses.capacity import seats_left_for_event

        now = now or timezone.now()
        if rendered is not None:
            seats = rendered.seats_left
        else:
            seats = seats_left_for_event(state["pk"], state["capacity"], now)
        passed = sum(1 for moment in state["moments"] if moment <= now)
        return f"{seats}.{passed}"

    def schema_org(self, request=None, page_data=None):
        """The schema.org Event as a dict; the template dumps it into JSON-LD.

        `page_data` is the page's `courses.queries.event_page_data`, when it has it already.
        """
        url = absolute_page_url(self, request)
        data = {
            "@context": "https://schema.org",
            "@type": "Event",
            "name": self.title,
            "description": self.summary,
            "url": url,
            "eventStatus": "https://schema.org/EventScheduled",
        }
        if self.starts_at:
            data["startDate"] = self.local(self.starts_at).isoformat()
        if self.ends_at:
            data["endDate"] = self.local(self.ends_at).isoformat()
        image = self.schema_org_image(request)
        if image:
            data["image"] = [image]
        if self.is_online or self.format == EventFormat.ON_DEMAND:
            data["eventAttendanceMode"] = "https://schema.org/OnlineEventAttendanceMode"
            data["location"] = {"@type": "VirtualLocation", "url": url}
        else:
            data["eventAttendanceMode"] = "https://schema.org/OfflineEventAttendanceMode"
            data["location"] = {"@type": "Place", "name": self.venue_name or self.venue_address}
            if self.venue_address:
                data["location"]["address"] = self._schema_org_address()
        presenters = page_data["presenters"] if page_data else list(self.presenters.all())
        if presenters:
            data["performer"] = [{"@type": "Person", "name": p.name} for p in presenters]
        data["organizer"] = {
            "@type": "Organization",
            "name": settings.WAGTAIL_SITE_NAME,
            "url": settings.SITE_URL,
        }
        offers = []
        # Availability only while one can register: a past (or closed) event claims nothing.
        availability = None
        if self.registration_is_open():
            availability = "https://schema.org/" + ("InStock" if self.seats_left > 0 else "SoldOut")
        for ticket in page_data["ticket_types"] if page_data else self.ticket_types.all():
            if ticket.access_code:
                continue
            offer = {
                "@type": "Offer",
                "name": ticket.name,
                "price": f"{ticket.current_price() / 100:.2f}",
                "priceCurrency": self.currency,
                "url": url,
            }
            if availability:
                offer["availability"] = availability
            valid_from = ticket.sale_starts_at or self.first_published_at
            if valid_from:
                offer["validFrom"] = self.local(valid_from).isoformat()
            offers.append(offer)
        if offers:
            data["offers"] = offers
        return data

    def _schema_org_address(self):
        """The venue address as a PostalAddress where its parts are recognised, else as typed
        (the venue's name, when also typed as the first line, left out)."""
        lines = [line.strip() for line in self.venue_address.splitlines() if line.strip()]
        if lines and self.venue_name and lines[0].casefold() == self.venue_name.casefold():
            lines = lines[1:]
        return postal_address("\n".join(lines)) or ", ".join(lines) or self.venue_address

    def schema_org_image(self, request=None):
        """An absolute image URL for search engines: the event's own picture when the page
        has one, else the site's logo (SiteSettings), else "" (no image claimed)."""
        image, spec = getattr(self, "image", None), "fill-1200x630"
        if image is None:
            site = self.get_site()
            settings_row = (
                SiteSettings.for_request(request)
                if request is not None
                else SiteSettings.for_site(site)
                if site
                else None
            )
            image, spec = getattr(settings_row, "logo", None), "max-1200x1200"
        if image is None:
            return ""
        rendition_url = image.get_rendition(spec).url
        return absolute_url(rendition_url) if rendition_url.startswith("/") else rendition_url


class ParticipantBenefit(Orderable):
    """One line of “Participants will receive”."""

    event = ParentalKey(EventPage, on_delete=models.CASCADE, related_name="benefits")
    text = models.CharField(max_length=300)

    panels = [FieldPanel("text")]

    def __str__(self):
        return self.text


class EventSession(Orderable):
    """One block of the schedule; CE credit and attendance are counted per session."""

    event = ParentalKey(EventPage, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(max_length=200)
    start = models.DateTimeField()
    end = models.DateTimeField()
    ce_minutes = models.PositiveIntegerField(
        default=0, help_text=_("Minutes of this session that count toward CE credit.")
    )
    presenter = models.ForeignKey(
        Presenter, null=True, blank=True, on_delete=models.SET_NULL, related_name="sessions"
    )

    panels = [
        FieldPanel("title"),
        FieldRowPanel(
            [FieldPanel("start"), FieldPanel("end")],
            help_text=ADMIN_TIME_HELP,
        ),
        FieldRowPanel([FieldPanel("ce_minutes"), FieldPanel("presenter")]),
    ]

    class Meta(Orderable.Meta):
        ordering = ["start", "sort_order"]

    def __str__(self):
        return self.title

    def clean(self):
        super().clean()
        if self.start and self.end and self.end <= self.start:
            raise ValidationError({"end": _("A session must end after it starts.")})
        if self.start and self.end and self.ce_minutes:
            length = (self.end - self.start).total_seconds() / 60
            if self.ce_minutes > length:
                raise ValidationError(
                    {"ce_minutes": _("CE minutes cannot exceed the session's length.")}
                )
