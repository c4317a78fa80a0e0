"""The members' library: Wagtail pages and documents that only the member group may open.

Who is a member is not decided here: the library index page carries a Wagtail view restriction
for the member group, and its files sit in a collection with the same restriction. Whoever
grants membership (courses: an event's included year, a bought plan) adds people to that
group and takes them out when it lapses; this module only reads "does this request pass the
library's restrictions".

Refusal is part of the product: a signed-in person who is not (or no longer) a member gets the
join page, in the site's style, with what membership includes and how to join, both written by
staff on the library index page. A signed-out visitor is sent to the site's own login and back
(Wagtail's check, with WAGTAIL_FRONTEND_LOGIN_URL). Recordings (video or audio documents) are
streamed with HTTP Range support, so browsers can seek in them.
"""

import uuid

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models.signals import m2m_changed, post_delete, post_save
from django.http import (
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext_lazy as _
from wagtail import hooks
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.fields import RichTextField
from wagtail.models import BaseViewRestriction, Page, PageViewRestriction, Site
from wagtail.search import index

from cms import page_cache
from cms.byte_ranges import file_chunks, parse_range
from cms.models import OneQueryViewRestrictions

MEDIA_TYPES = ("video/", "audio/")


class LibraryItemKind(models.TextChoices):
    PRESENTATION = "presentation", _("Presentation slides")
    MANUAL = "manual", _("Manual")
    RECORDING = "recording", _("Recorded webinar")
    OTHER = "other", _("Other resource")


class LibraryIndexPage(OneQueryViewRestrictions, Page):
    """The members' library: lists its items by kind. Give it a view restriction for the
    member group (Privacy in the editor); its text for non-members is the join page's."""

    introduction = models.TextField(
        _("introduction"), blank=True, help_text=_("A sentence or two below the title.")
    )
    membership_includes = RichTextField(
        _("what membership includes"),
        blank=True,
        features=["bold", "italic", "link", "ul"],
        help_text=_("Shown to people who are not members when they open a library page or file."),
    )
    how_to_join = RichTextField(
        _("how to join"),
        blank=True,
        features=["bold", "italic", "link", "ul"],
        help_text=_(
            "Shown on the same page: how to become a member (or renew), with links, for "
            "example to an event that includes membership."
        ),
    )

    parent_page_types = ["cms.HomePage"]
    subpage_types = ["cms.LibraryItemPage"]
    max_count = 1
    template = "cms/library/index_page.html"

    content_panels = Page.content_panels + [
        FieldPanel("introduction"),
        MultiFieldPanel(
            [FieldPanel("membership_includes"), FieldPanel("how_to_join")],
            heading=_("For people who are not members"),
        ),
    ]
    search_fields = Page.search_fields + [index.SearchField("introduction")]

    class Meta:
        verbose_name = _("members' library")

    @property
    def summary(self):
        return self.introduction

    def sections(self):
        """[(kind label, [items])] in the order of the kinds, empty kinds left out."""
        items = list(
            LibraryItemPage.objects.live()
            .child_of(self)
            .select_related("document", "recording")
            .order_by("path")
        )
        return [
            (label, [item for item in items if item.kind == kind])
            for kind, label in LibraryItemKind.choices
            if any(item.kind == kind for item in items)
        ]

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["sections"] = self.sections()
        return context


def _require_members_only_collection(document, field):
    if document is not None and not document.collection.get_view_restrictions().exists():
        raise ValidationError(
            {
                field: _(
                    "“%(title)s” is in the collection “%(collection)s”, which anyone may "
                    "download from. Choose a file in a members-only collection (one with a "
                    "privacy setting for the member group), or move this file there."
                )
                % {"title": document.title, "collection": document.collection.name}
            }
        )


class LibraryItemPage(OneQueryViewRestrictions, Page):
    """One resource in the members' library: slides, a manual or a recorded webinar."""

    kind = models.CharField(
        _("kind"), max_length=20, choices=LibraryItemKind.choices, default=LibraryItemKind.OTHER
    )
    description = models.TextField(
        _("description"), help_text=_("What it is and who it is for; shown in the library list.")
    )
    body = RichTextField(
        _("notes"), blank=True, features=["bold", "italic", "link", "ul", "ol", "h2", "h3"]
    )
    document = models.ForeignKey(
        "wagtaildocs.Document",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("file to download"),
        help_text=_("Slides, a manual or handout, from a members-only collection."),
    )
    recording = models.ForeignKey(
        "wagtaildocs.Document",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recording"),
        help_text=_("A video or audio file (MP4, WebM, MP3), played on the page for members."),
    )

    parent_page_types = ["cms.LibraryIndexPage"]
    subpage_types = []
    template = "cms/library/item_page.html"

    content_panels = Page.content_panels + [
        FieldPanel("kind"),
        FieldPanel("description"),
        FieldPanel("document"),
        FieldPanel("recording"),
        FieldPanel("body"),
    ]
    search_fields = Page.search_fields + [
        index.SearchField("description"),
        index.SearchField("body"),
    ]

    class Meta:
        verbose_name = _("library item")

    @property
    def summary(self):
        return self.description

    def clean(self):
        super().clean()
        if self.document is None and self.recording is None:
            raise ValidationError(_("Choose a file to download, a recording, or both."))
        if self.recording is not None and not self.recording.content_type.startswith(MEDIA_TYPES):
            raise ValidationError(
                {
                    "recording": _(
                        "A recording is a video or audio file (MP4, WebM, MP3). Put other "
                        "files under “file to download”."
                    )
                }
            )
        _require_members_only_collection(self.document, "document")
        _require_members_only_collection(self.recording, "recording")


LIBRARY_PAGE_TYPES = (LibraryIndexPage, LibraryItemPage)


# -- who may open it ------------------------------------------------------------------------


def library_for_site(site):
    """The site's live library index page, or None."""
    if site is None:
        return None
    return LibraryIndexPage.objects.live().descendant_of(site.root_page).first()


def _refuses_member_groups(restrictions, request):
    """True when a group restriction (the member group's) turns this request away."""
    return any(
        restriction.restriction_type == BaseViewRestriction.GROUPS
        and not restriction.accept_request(request)
        for restriction in restrictions
    )


def may_open(page, request):
    """Does the request pass every view restriction of the page (its ancestors' included)?"""
    return all(restriction.accept_request(request) for restriction in page.get_view_restrictions())


# Moves when anyone's groups or a page's privacy change: a member added or lapsed sees the
# navigation link appear or go on the next page (the content generation covers publishing).
# Django sends no signal for rows written to or deleted from the user-group table directly
# (auto-created models), so an answer is also kept a minute at most.
ACCESS_GENERATION_KEY = "cms:library-access-generation"
ANSWER_SECONDS = 60


def library_link(request):
    """{"title", "url"} of the library when this request's person may open it, else None.

    The header asks on every page, so the answer is kept per person and site under the access
    and content generations: one cache round trip, no query, until something changes.
    """
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    site = Site.find_for_request(request)
    if site is None:
        return None
    key = f"cms:library-link:{user.pk}:{site.pk}:{request.get_host()}"
    found = cache.get_many([ACCESS_GENERATION_KEY, page_cache.GENERATION_KEY, key])
    generation = found.get(ACCESS_GENERATION_KEY)
    if generation is None:
        cache.add(ACCESS_GENERATION_KEY, uuid.uuid4().hex, timeout=None)
        generation = cache.get(ACCESS_GENERATION_KEY)
    stamp = (generation, found.get(page_cache.GENERATION_KEY) or page_cache.generation())
    answer = found.get(key)
    if answer is not None and answer[0] == stamp:
        return answer[1]
    library = library_for_site(site)
    link = None
    if library is not None and may_open(library, request):
        link = {"title": library.title, "url": library.get_url(request=request)}
    if generation is not None:
        cache.set(key, (stamp, link), timeout=ANSWER_SECONDS)
    return link


def access_changed(**kwargs):
    """Forget every cached answer: someone's groups or a page's privacy changed."""
    cache.set(ACCESS_GENERATION_KEY, uuid.uuid4().hex, timeout=None)


_Memberships = get_user_model().groups.through
m2m_changed.connect(access_changed, sender=_Memberships, dispatch_uid="library-groups-m2m")
post_delete.connect(access_changed, sender=Group, dispatch_uid="library-group-deleted")
post_save.connect(access_changed, sender=PageViewRestriction, dispatch_uid="library-pvr-saved")
post_delete.connect(access_changed, sender=PageViewRestriction, dispatch_uid="library-pvr-del")
m2m_changed.connect(
    access_changed, sender=PageViewRestriction.groups.through, dispatch_uid="library-pvr-groups"
)


# -- refusal: the join page -----------------------------------------------------------------


def join_page(request, library=None):
    """The styled refusal for anyone outside the member group (403): what membership includes
    and how to join, with the way to log in for a member who is signed out."""
    if library is None:
        library = library_for_site(Site.find_for_request(request))
    # Ways to join that other apps sell (payments: plans by card or invoice), through the
    # `library_join_actions` hook: each returns [(label, url)] for this request.
    actions = [
        action for hook in hooks.get_hooks("library_join_actions") for action in hook(request)
    ]
    response = render(
        request,
        "cms/library/join.html",
        {"library": library, "join_actions": actions},
        status=403,
    )
    add_never_cache_headers(response)
    return response


def _library_of(page):
    if isinstance(page, LibraryIndexPage):
        return page
    return LibraryIndexPage.objects.live().ancestor_of(page).first()


@hooks.register("before_serve_page", order=-1)
def join_page_for_library_pages(page, request, serve_args, serve_kwargs):
    """Before Wagtail's own check (which would send a signed-in non-member to the login form
    again, and a signed-out visitor to a login form that does not say what is behind it):
    anyone outside the member group gets the join page, a signed-out visitor with the way to
    log in and come back. Only library pages are checked here, so other pages cost no extra
    query."""
    if not isinstance(page, LIBRARY_PAGE_TYPES):
        return None
    if _refuses_member_groups(page.get_view_restrictions(), request):
        return join_page(request, _library_of(page))
    return None


@hooks.register("before_serve_document", order=-1)
def join_page_for_members_only_documents(document, request):
    """Anyone outside the group a document's collection is restricted to gets the join page
    (a signed-out visitor with the way to log in and come back to the file)."""
    if _refuses_member_groups(document.collection.get_view_restrictions(), request):
        return join_page(request)
    return None


# -- recordings: private playback with Range ------------------------------------------------


class RecordingResponse(StreamingHttpResponse, HttpResponse):
    """A streamed response that Wagtail's serve view accepts from a hook: it takes only an
    `HttpResponse`, which a `StreamingHttpResponse` is not. Streaming wins in the method order,
    so the bytes are never read into memory."""

    def __init__(self, streaming_content, **kwargs):
        HttpResponseBase.__init__(self, **kwargs)
        self.streaming_content = streaming_content


@hooks.register("before_serve_document", order=1)
def stream_recording(document, request):
    """Video and audio documents, once Wagtail's privacy check (order 0) has passed: answered
    with 206 for a Range request (browsers seek with them; Django's FileResponse ignores
    them). A storage without local files (S3) hands out its short-lived signed URL."""
    if not document.content_type.startswith(MEDIA_TYPES):
        return None
    try:
        document.file.path  # noqa: B018 - only local storages have a path
    except NotImplementedError:  # Django's Storage.path: a storage without local files (S3)
        response = HttpResponseRedirect(document.file.url)
        response["Cache-Control"] = "private, no-store"
        return response
    size = document.file.size
    wanted = parse_range(request.headers.get("Range"), size)
    if wanted == "invalid":
        response = HttpResponse(status=416)
        response["Content-Range"] = f"bytes */{size}"
        return response
    handle = document.file.storage.open(document.file.name, "rb")
    start, end = wanted or (0, size - 1)
    length = max(0, end - start + 1)
    response = RecordingResponse(
        file_chunks(handle, start, length),
        status=206 if wanted else 200,
        content_type=document.content_type,
    )
    response["Content-Length"] = str(length)
    if wanted:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = document.content_disposition
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
