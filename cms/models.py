"""The site shell's models: the user, audit records, site settings and the CMS pages."""

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.core.cache import cache
from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.db import models
from django.db.models.functions import Coalesce, Lower
from django.utils.functional import SimpleLazyObject
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from modelcluster.contrib.taggit import ClusterTaggableManager
from modelcluster.fields import ParentalKey
from taggit.models import TaggedItemBase
from wagtail.admin.panels import FieldPanel, MultiFieldPanel
from wagtail.contrib.settings.models import BaseSiteSetting, register_setting
from wagtail.fields import RichTextField, StreamField
from wagtail.models import Page, PageViewRestriction, Site
from wagtail.search import index

from cms import page_cache
from cms.blocks import BodyBlock
from cms.fragments import PageFragments
from cms.images import require_alt_text

# How long a process keeps the site settings at most (a save moves the generation at once).
SITE_SETTINGS_SECONDS = 300


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractUser):
    """A person with an account: attendee, trainer candidate, reviewer or staff.

    The email is the login and is unique regardless of case. The legal name is kept exactly
    as typed because certificates print it; the preferred name is for greetings.
    """

    username = None
    first_name = None
    last_name = None
    email = models.EmailField(_("email address"), unique=True)
    legal_name = models.CharField(
        _("legal name"),
        max_length=200,
        help_text=_("Your full name exactly as it should appear on certificates."),
    )
    preferred_name = models.CharField(
        _("preferred name"),
        max_length=100,
        blank=True,
        help_text=_("What we call you in emails and on the site."),
    )
    profession = models.CharField(
        _("profession"),
        max_length=120,
        blank=True,
        help_text=_("For example: psychologist, licensed clinical social worker, counselor."),
    )
    credentials = models.CharField(
        _("credentials"),
        max_length=120,
        blank=True,
        help_text=_("Letters after your name, for example PhD, LCSW, LMHC."),
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["legal_name"]

    objects = UserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self):
        return self.display_name

    def save(self, *args, **kwargs):
        # allauth stores and looks up addresses in lower case; a mixed-case row (from
        # createsuperuser, the admin or a script) would never match its EmailAddress record.
        if self.email:
            self.email = self.email.strip().lower()
        super().save(*args, **kwargs)

    @property
    def display_name(self):
        return self.preferred_name or self.legal_name or self.email

    def get_full_name(self):
        return self.legal_name

    def get_short_name(self):
        return self.preferred_name or self.legal_name

    # Wagtail's admin reads these two.
    @property
    def first_name_display(self):
        return self.get_short_name()


class AuditRecord(models.Model):
    """One state change: who did what to which object, and the state before and after.

    Records are only ever added; staff read them on object timelines and for audits.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        "cms.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=120, db_index=True)
    object_type = models.CharField(max_length=120)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=255, blank=True)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"{self.action} {self.object_type}#{self.object_id}"


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    IN_PROGRESS = "in_progress", _("Being sent")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")


class OutboxKind(models.TextChoices):
    EMAIL = "email", _("Email")
    TASK = "task", _("Task")


class OutboxMessage(models.Model):
    """A side effect promised by a committed change: an email to send or a task to run.

    Written in the same transaction as the change it belongs to, delivered after commit and
    retried by a periodic sweep until done (cms.outbox). `key`, when set, makes the promise
    idempotent: a second row with the same key is never written.
    """

    kind = models.CharField(max_length=10, choices=OutboxKind.choices)
    # The task's registered name, or the email's subject: what staff read in a listing.
    name = models.CharField(max_length=255)
    payload = models.JSONField(default=dict, blank=True)
    key = models.CharField(max_length=255, unique=True, null=True, blank=True)
    status = models.CharField(
        max_length=20, choices=OutboxStatus.choices, default=OutboxStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "next_attempt_at"])]

    def __str__(self):
        return f"{self.kind} {self.name} ({self.status})"


# --- Site settings and CMS pages ---------------------------------------------------------


@register_setting(icon="cog")
class SiteSettings(BaseSiteSetting):
    """The organisation's name, logo and contact details, shown in the header and footer."""

    # The header shows the logo on every page: fetch it with the settings row.
    select_related = ["logo"]

    @classmethod
    def for_request(cls, request):
        """The settings for the request's site, shared between visitors through the cache
        under the content generation (a save here moves it, so a change shows at once).
        The admin's settings form reads `for_site`, always from the database."""
        attr_name = cls.get_cache_attr_name()
        if hasattr(request, attr_name):
            return getattr(request, attr_name)
        site = Site.find_for_request(request)
        if site is None:
            return super().for_request(request)
        key = f"site-settings:{page_cache.generation()}:{site.pk}"
        site_settings = cache.get(key)
        if site_settings is None:
            site_settings = cls.for_site(site)
            cache.set(key, site_settings, SITE_SETTINGS_SECONDS)
        site_settings._request = request
        setattr(request, attr_name, site_settings)
        return site_settings

    organisation_name = models.CharField(
        _("organisation name"), max_length=200, default="Heart and Soul of Change Project"
    )
    logo = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("logo"),
        help_text=_("Shown in the header beside the organisation name."),
    )
    contact_email = models.EmailField(_("contact email"), blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    postal_address = models.TextField(_("postal address"), blank=True)
    footer_text = models.TextField(
        _("footer text"), blank=True, help_text=_("A short line shown at the bottom of every page.")
    )
    invoice_payment_instructions = models.TextField(
        _("how to pay an invoice"),
        blank=True,
        help_text=_(
            "Printed on every invoice: bank details for a transfer, the address for cheques. "
            "A link to pay by card is added when card payments are on."
        ),
    )

    panels = [
        FieldPanel("organisation_name"),
        FieldPanel("logo"),
        MultiFieldPanel(
            [FieldPanel("contact_email"), FieldPanel("phone"), FieldPanel("postal_address")],
            heading=_("Contact details"),
        ),
        FieldPanel("footer_text"),
        FieldPanel("invoice_payment_instructions"),
    ]

    class Meta:
        verbose_name = _("site settings")
        verbose_name_plural = _("site settings")

    def __str__(self):
        return self.organisation_name


def paginate(request, queryset, per_page):
    """The requested page of `queryset`; a bad or out-of-range ?page= shows the nearest page."""
    paginator = Paginator(queryset, per_page)
    try:
        return paginator.page(request.GET.get("page", 1))
    except PageNotAnInteger:
        return paginator.page(1)
    except EmptyPage:
        return paginator.page(paginator.num_pages)


class OneQueryViewRestrictions:
    """Wagtail's `get_view_restrictions` in one query instead of two.

    The same rows: restrictions on this page or any ancestor, an alias answering with its
    source page's. The ancestors' tree paths are read off this page's own path, and aliases
    are resolved in the same query, so serving a page (Wagtail checks restrictions before
    every page it serves) costs one round trip for it, not two.
    """

    def get_view_restrictions(self):
        path = self.path or ""
        paths = [path[:end] for end in range(self.steplen, len(path) + 1, self.steplen)]
        sources = (
            Page.objects.filter(path__in=paths)
            .annotate(source=Coalesce("alias_of_id", "id"))
            .values("source")
        )
        return PageViewRestriction.objects.filter(page_id__in=sources)


class HomePage(OneQueryViewRestrictions, Page):
    """The site's front page: an introduction, upcoming events and the latest news."""

    introduction = RichTextField(
        _("introduction"),
        blank=True,
        features=["bold", "italic", "link"],
        help_text=_("Shown below the title."),
    )
    body = StreamField(BodyBlock(), blank=True, verbose_name=_("body"))
    latest_news_count = models.PositiveSmallIntegerField(
        _("latest news count"), default=3, help_text=_("How many of the newest articles to list.")
    )

    parent_page_types = ["wagtailcore.Page"]
    max_count_per_parent = 1

    content_panels = Page.content_panels + [
        FieldPanel("introduction"),
        FieldPanel("body"),
        FieldPanel("latest_news_count"),
    ]
    search_fields = Page.search_fields + [
        index.SearchField("introduction"),
        index.SearchField("body"),
    ]

    class Meta:
        verbose_name = _("home page")

    def latest_articles(self):
        return (
            ArticlePage.objects.live()
            .public()
            .descendant_of(self)
            .select_related("listing_image")
            .prefetch_related("listing_image__renditions")
            .order_by("-date", "-pk")[: self.latest_news_count]
        )

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        context["fragments"] = PageFragments(self, request)
        # Both are read only when the template's cached "Latest news" fragment is rebuilt
        # (lazily: `.public()` asks for the site's view restrictions as soon as it is called).
        context["latest_articles"] = SimpleLazyObject(lambda: list(self.latest_articles()))
        context["news_index"] = SimpleLazyObject(
            lambda: NewsIndexPage.objects.live().descendant_of(self).first()
        )
        return context


class StandardPage(OneQueryViewRestrictions, Page):
    """A plain content page such as "About us" or "Contact"."""

    introduction = models.TextField(
        _("introduction"), blank=True, help_text=_("A sentence or two below the title.")
    )
    body = StreamField(BodyBlock(), blank=True, verbose_name=_("body"))

    content_panels = Page.content_panels + [FieldPanel("introduction"), FieldPanel("body")]
    search_fields = Page.search_fields + [
        index.SearchField("introduction"),
        index.SearchField("body"),
    ]

    class Meta:
        verbose_name = _("standard page")


class NewsIndexPage(OneQueryViewRestrictions, Page):
    """Lists the articles below it, newest first, optionally filtered by one tag."""

    introduction = RichTextField(_("introduction"), blank=True, features=["bold", "italic", "link"])

    subpage_types = ["cms.ArticlePage"]
    articles_per_page = 10

    content_panels = Page.content_panels + [FieldPanel("introduction")]

    class Meta:
        verbose_name = _("news index page")

    def articles(self, tag=None):
        articles = (
            ArticlePage.objects.live()
            .public()
            .child_of(self)
            .select_related("listing_image")
            .prefetch_related("listing_image__renditions")
            .order_by("-date", "-pk")
        )
        if tag:
            articles = articles.filter(tags__name=tag)
        return articles

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        tag = request.GET.get("tag", "").strip()
        context["tag"] = tag
        context["articles"] = paginate(request, self.articles(tag), self.articles_per_page)
        # Page links keep the tag filter.
        context["pagination_query"] = f"{urlencode({'tag': tag})}&" if tag else ""
        return context


class ArticlePageTag(TaggedItemBase):
    content_object = ParentalKey(
        "cms.ArticlePage", related_name="tagged_items", on_delete=models.CASCADE
    )


class ArticlePage(OneQueryViewRestrictions, Page):
    """A news article: who wrote it, when it was published, its text and its topics."""

    author = models.CharField(
        _("author"), max_length=200, help_text=_("The name shown as the article's author.")
    )
    date = models.DateField(_("publication date"))
    introduction = models.TextField(
        _("introduction"),
        blank=True,
        help_text=_(
            "A one- or two-sentence summary, used in listings, the feed and search results."
        ),
    )
    listing_image = models.ForeignKey(
        "wagtailimages.Image",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("listing image"),
        help_text=_(
            "Optional picture shown in listings, at the top of the article and when the link "
            "is shared. It needs a description (alt text) in Images."
        ),
    )
    body = StreamField(BodyBlock(), verbose_name=_("body"))
    tags = ClusterTaggableManager(through=ArticlePageTag, blank=True, verbose_name=_("tags"))

    parent_page_types = ["cms.NewsIndexPage"]
    subpage_types = []

    content_panels = Page.content_panels + [
        MultiFieldPanel([FieldPanel("author"), FieldPanel("date")], heading=_("Byline")),
        FieldPanel("introduction"),
        FieldPanel("listing_image"),
        FieldPanel("body"),
        FieldPanel("tags"),
    ]
    search_fields = Page.search_fields + [
        index.SearchField("introduction"),
        index.SearchField("body"),
        index.SearchField("author"),
        index.FilterField("date"),
    ]

    class Meta:
        verbose_name = _("article")

    @property
    def summary(self):
        return self.introduction or self.search_description

    def clean(self):
        super().clean()
        require_alt_text(self.listing_image, "listing_image")

    def get_context(self, request, *args, **kwargs):
        context = super().get_context(request, *args, **kwargs)
        # The article is the same for every visitor: its template keeps it under the content
        # generation, and reads these (once, lazily) only when it renders it again.
        context["fragments"] = PageFragments(self, request)
        context["article_tags"] = SimpleLazyObject(lambda: list(self.tags.all()))
        context["news_index"] = SimpleLazyObject(self.get_parent)
        return context


# The members' library's page types live beside their access rules; imported here so that
# Django and Wagtail register them with the app's models.
from cms.library import LibraryIndexPage, LibraryItemPage  # noqa: E402, F401
