"""Demo content for the site shell: the page tree, site settings, the newsletter article, staff.

Every step looks for what it would create first, so running `load_demo` again changes nothing
and keeps what editors changed since.
"""

import datetime
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils.html import escape
from wagtail.documents import get_document_model
from wagtail.models import Collection, CollectionViewRestriction, Page, PageViewRestriction, Site
from wagtail.rich_text import RichText

from cms.demo_images import demo_image
from cms.library import LibraryIndexPage, LibraryItemKind, LibraryItemPage
from cms.models import ArticlePage, HomePage, NewsIndexPage, SiteSettings, StandardPage, User

ORGANISATION = "Heart and Soul of Change Project"
ARTICLE_FILE = Path(__file__).parent / "demo_content" / "therapeutic_alliance.txt"
ARTICLE_SLUG = "the-therapeutic-alliance"
STAFF_EMAIL = "staff@example.org"
STAFF_LEGAL_NAME = "Sam Rivera"

HOME_INTRODUCTION = (
    "<p>Workshops, webinars and certification for therapists, counselors and social workers "
    "who want better outcomes by asking their clients for feedback, in every session.</p>"
)

ABOUT_BODY = [
    (
        "heading",
        "Who we are",
    ),
    (
        "paragraph",
        "The Heart and Soul of Change Project helps mental-health professionals and the "
        "agencies they work for improve the outcomes of the services they provide. We train "
        "practitioners, supervisors and trainers in the Partners for Change Outcome "
        "Management System (PCOMS): a simple, evidence-based way of asking clients, at every "
        "session, whether they are getting better and whether the work with their therapist "
        "fits them.",
    ),
    ("heading", "Why client feedback"),
    (
        "paragraph",
        "Decades of psychotherapy research point to the same conclusion: what clients bring "
        "to therapy and the quality of the therapeutic alliance matter more than any single "
        "technique. The Outcome Rating Scale (ORS) and the Session Rating Scale (SRS) take a "
        "minute each to complete. Together they show early whether a client is benefiting, "
        "so that the therapist can change course before the client drops out.",
    ),
    ("heading", "What we offer"),
    (
        "paragraph",
        "Our workshops and webinars cover feedback-informed treatment for individual "
        "practitioners, supervision that uses client feedback, and implementation in "
        "agencies and systems of care. Most events carry continuing-education credit for "
        "counselors, social workers, marriage and family therapists and psychologists; "
        "certificates are issued online after you attend and complete the evaluation.",
    ),
    (
        "paragraph",
        "The annual Training of Trainers Conference is the first step towards becoming a "
        "Project Certified Trainer. The designation also requires a video demonstration of "
        "training expertise and a demonstration of conceptual and practical understanding of "
        "PCOMS, at the level of the individual practitioner and of the agency.",
    ),
    ("heading", "Contact us"),
    (
        "paragraph",
        "Questions about an event, continuing-education credit or group registration for "
        "your agency? Write to training@example.org and a member of our team will reply "
        "within two working days.",
    ),
]


def _paragraph(text):
    return ("paragraph", RichText(f"<p>{escape(text)}</p>"))


def _body(blocks):
    body = []
    for kind, text in blocks:
        if kind == "heading":
            body.append(("heading", {"text": text, "level": "h2"}))
        else:
            body.append(_paragraph(text))
    return body


def read_article():
    """The newsletter article: (title, paragraphs). The file is the newsletter's own text."""
    parts = [part.strip() for part in ARTICLE_FILE.read_text(encoding="utf-8").split("\n\n")]
    parts = [part for part in parts if part]
    heading, subtitle, *paragraphs = parts
    return f"{heading} — {subtitle.rstrip('.')}", paragraphs


def _publish(page):
    page.save_revision().publish()
    return page


def _add_child(parent, page, stdout):
    parent.add_child(instance=page)
    _publish(page)
    stdout.write(f"  created page “{page.title}”")
    return page


def ensure_home_page(stdout):
    """A HomePage at the root of the default site, replacing Wagtail's "Welcome" page."""
    root = Page.get_first_root_node()
    home = HomePage.objects.child_of(root).first()
    if home is None:
        home = _add_child(
            root,
            HomePage(
                title="Better outcomes, one client at a time",
                slug="heart-and-soul-of-change",
                search_description="Workshops, webinars and certification in feedback-"
                "informed treatment (PCOMS) for mental-health professionals.",
                introduction=HOME_INTRODUCTION,
            ),
            stdout,
        )

    address = urlsplit(settings.SITE_URL)
    hostname = address.hostname or "localhost"
    port = address.port or (443 if address.scheme == "https" else 80)
    site = Site.objects.filter(is_default_site=True).first() or Site.objects.first()
    if site is None:
        site = Site(is_default_site=True, root_page=home)
    previous_root = site.root_page if site.pk else None
    site.root_page = home
    site.hostname, site.port, site.site_name = hostname, port, ORGANISATION
    site.save()
    # Wagtail's starter "Welcome" page is a bare Page; once it is no site's root it goes.
    if (
        previous_root is not None
        and previous_root.pk != home.pk
        and previous_root.content_type.model_class() is Page
        and previous_root.is_leaf()
        and not Site.objects.filter(root_page=previous_root).exists()
    ):
        stdout.write(f"  removed Wagtail's starter page “{previous_root.title}”")
        previous_root.delete()
    return home, site


def ensure_site_settings(site):
    """Fill the organisation's details, keeping any value an editor already set."""
    site_settings = SiteSettings.for_site(site)
    defaults = {
        "organisation_name": ORGANISATION,
        "contact_email": "training@example.org",
        "phone": "+1 555 010 0142",
        "postal_address": "PO Box 0000 (sample)\nJensen Beach, FL 34957\nUnited States",
        "invoice_payment_instructions": (
            "Bank transfer (sample details for the demo): Example Community Bank, "
            "account name Heart and Soul of Change Project, routing 000000000, "
            "account 0000000000. Please quote the invoice number.\n"
            "Cheques payable to Heart and Soul of Change Project, at the address above."
        ),
        "footer_text": "Training, continuing education and certification in feedback-informed "
        "treatment for mental-health professionals.",
    }
    for field, value in defaults.items():
        if not getattr(site_settings, field):
            setattr(site_settings, field, value)
    site_settings.save()
    return site_settings


def ensure_about_page(home, stdout):
    about = StandardPage.objects.child_of(home).filter(slug="about").first()
    if about is None:
        about = _add_child(
            home,
            StandardPage(
                title="About the project",
                slug="about",
                show_in_menus=True,
                introduction="We help therapists and agencies find out, session by session, "
                "whether their clients are benefiting, and what to do when they are not.",
                body=_body(ABOUT_BODY),
            ),
            stdout,
        )
    return about


def ensure_news(home, stdout):
    news = NewsIndexPage.objects.child_of(home).filter(slug="news").first()
    if news is None:
        news = _add_child(
            home,
            NewsIndexPage(
                title="News",
                slug="news",
                show_in_menus=True,
                introduction="<p>Research summaries, practice notes and news from the project.</p>",
            ),
            stdout,
        )
    title, paragraphs = read_article()
    article = ArticlePage.objects.child_of(news).filter(slug=ARTICLE_SLUG).first()
    if article is None:
        article = ArticlePage(
            title=title,
            slug=ARTICLE_SLUG,
            author=ORGANISATION,
            # The newsletter announces a webinar on 9 December 2014, so it went out before.
            date=datetime.date(2014, 11, 1),
            introduction="A strong therapeutic alliance leads to successful outcomes, and the "
            "therapist plays the key role in forming it. Regular client feedback shows "
            "whether you are succeeding.",
            search_description="Research on the therapeutic alliance as a common factor, "
            "and how session-by-session feedback helps therapists strengthen it.",
            body=[_paragraph(text) for text in paragraphs],
        )
        news.add_child(instance=article)
        article.tags.add("therapeutic alliance", "client feedback", "research")
        _publish(article)
        stdout.write(f"  created article “{article.title}”")
    if article.listing_image_id is None:
        article.listing_image = demo_image(
            "article",
            title=article.title,
            description="Soft white and sky-blue circles on a teal-to-violet gradient.",
            stdout=stdout,
        )
        _publish(article)
    return news, article


def ensure_staff_user(*, reset_password=False):
    """A superuser for the Wagtail admin, with a verified email so allauth lets it log in."""
    user = User.objects.filter(email__iexact=STAFF_EMAIL).first()
    password = None
    if user is None:
        password = os.environ.get("DEMO_STAFF_PASSWORD") or secrets.token_urlsafe(12)
        user = User.objects.create_superuser(
            email=STAFF_EMAIL,
            password=password,
            legal_name=STAFF_LEGAL_NAME,
            preferred_name="Sam",
            profession="Training coordinator",
        )
    elif reset_password:
        password = os.environ.get("DEMO_STAFF_PASSWORD") or secrets.token_urlsafe(12)
        user.set_password(password)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(
        user=user, email=user.email, defaults={"verified": True, "primary": True}
    )
    return user, password


def print_staff_login(stdout, user, password):
    """How to log in as the demo staff user and set up the two-factor the admin requires."""
    stdout.write("")
    stdout.write("Staff account (superuser) for the Wagtail admin:")
    stdout.write(f"  email:    {user.email}")
    if password:
        stdout.write(f"  password: {password}")
    else:
        stdout.write(
            "  password: unchanged since it was created and printed "
            "(run `manage.py load_demo --reset-staff-password` for a new one)"
        )
    stdout.write("Two-factor authentication is required before the admin opens for staff:")
    stdout.write(
        f"  1. Log in at {settings.SITE_URL}/accounts/login/ with that email and password."
    )
    stdout.write(
        f"  2. Open {settings.SITE_URL}/admin/ — you are sent to the authenticator set-up page."
    )
    stdout.write(
        "  3. Scan the QR code with an authenticator app (for example FreeOTP, Aegis, Google "
        "or Microsoft Authenticator), type the 6-digit code it shows, and keep the recovery "
        "codes somewhere safe."
    )
    stdout.write("  4. Open /admin/ again; later logins ask for a fresh code from the app.")


def load_demo_content(stdout, *, reset_staff_password=False):
    """The site shell's demo content; other apps' `demo` modules add theirs after this.

    Returns the staff user and the password to print (None when it was not changed).
    """
    with transaction.atomic():
        home, site = ensure_home_page(stdout)
        ensure_site_settings(site)
        ensure_about_page(home, stdout)
        ensure_news(home, stdout)
        staff = ensure_staff_user(reset_password=reset_staff_password)
    stdout.write(
        "  in place: the home page, About the project, and News with the newsletter article"
    )
    return staff


# -- the members' library --------------------------------------------------------------------

LIBRARY_SLUG = "member-site"
LIBRARY_COLLECTION = "Members' library"
LIBRARY_INCLUDES = (
    "<p>A year of the members' library:</p><ul>"
    "<li>Barry Duncan's PowerPoint presentations, including the annotated slides of the "
    "Training of Trainers week</li>"
    "<li>The administration and scoring manual of the ORS/SRS</li>"
    "<li>The PCOMS Manual, second edition: Heroic Clients, Heroic Agencies</li>"
    "<li>Recorded webinars</li></ul>"
)
# (slug, title, kind, description, file name)
LIBRARY_ITEMS = [
    (
        "powerpoint-presentations",
        "PowerPoint presentations: the Training of Trainers week",
        LibraryItemKind.PRESENTATION,
        "Barry Duncan's slides for the five days of the Training of Trainers Conference, with "
        "the annotated presentations trainers use to teach PCOMS.",
        "tot-presentations-placeholder.txt",
    ),
    (
        "ors-srs-administration-manual",
        "ORS/SRS administration and scoring manual",
        LibraryItemKind.MANUAL,
        "How to give, score and interpret the Outcome Rating Scale and the Session Rating "
        "Scale, session by session.",
        "ors-srs-manual-placeholder.txt",
    ),
    (
        "pcoms-manual",
        "The PCOMS Manual, second edition",
        LibraryItemKind.MANUAL,
        "Heroic Clients, Heroic Agencies: from clinical implementation to supervision and "
        "agency implementation of the Partners for Change Outcome Management System.",
        "pcoms-manual-placeholder.txt",
    ),
    (
        "webinar-feedback-in-supervision",
        "Recorded webinar: Feedback in supervision",
        LibraryItemKind.RECORDING,
        "A one-hour webinar on using ORS and SRS scores in clinical supervision, with the "
        "questions participants asked.",
        "webinar-recording-placeholder.txt",
    ),
]


def _placeholder(title):
    return (
        f"{title}\n\nPLACEHOLDER: this file stands in for the real one in the demo site. "
        "Staff replace it in the admin (Documents) with the real file.\n"
    ).encode()


def _members_collection(group):
    """A collection whose files only the member group may download."""
    root = Collection.get_first_root_node()
    collection = root.get_children().filter(name=LIBRARY_COLLECTION).first()
    if collection is None:
        collection = root.add_child(name=LIBRARY_COLLECTION)
    if not CollectionViewRestriction.objects.filter(collection=collection).exists():
        restriction = CollectionViewRestriction.objects.create(
            collection=collection, restriction_type=CollectionViewRestriction.GROUPS
        )
        restriction.groups.add(group)
    return collection


def _replace_empty_member_page(home, stdout):
    """Earlier demos made /member-site/ an empty standard page: the library takes its place."""
    old = StandardPage.objects.child_of(home).filter(slug=LIBRARY_SLUG).first()
    if old is not None and old.is_leaf():
        old.delete()
        stdout.write("  replaced the empty member site page with the members' library")


def ensure_members_library(group, how_to_join, stdout):
    """The members' library at /member-site/, private to `group`, with placeholder items.

    `how_to_join` is the join page's rich text (courses links it to the conference that
    includes membership). Looks first, so a second run changes nothing.
    """
    home = HomePage.objects.first()
    if home is None:
        return None
    library = LibraryIndexPage.objects.first()
    if library is None:
        _replace_empty_member_page(home, stdout)
        library = _add_child(
            home,
            LibraryIndexPage(
                title="Members' library",
                slug=LIBRARY_SLUG,
                introduction="Slides, manuals and recorded webinars for members.",
                membership_includes=LIBRARY_INCLUDES,
                how_to_join=how_to_join,
            ),
            stdout,
        )
    if not PageViewRestriction.objects.filter(page=library).exists():
        restriction = PageViewRestriction.objects.create(
            page=library, restriction_type=PageViewRestriction.GROUPS
        )
        restriction.groups.add(group)
    collection = _members_collection(group)
    Document = get_document_model()
    for slug, title, kind, description, filename in LIBRARY_ITEMS:
        if LibraryItemPage.objects.filter(slug=slug).exists():
            continue
        document = Document.objects.filter(collection=collection, title=title).first()
        if document is None:
            document = Document(title=title, collection=collection)
            document.file.save(filename, ContentFile(_placeholder(title)), save=False)
            document._set_document_file_metadata()
            document.save()
        _add_child(
            library,
            LibraryItemPage(
                title=title, slug=slug, kind=kind, description=description, document=document
            ),
            stdout,
        )
    return library
