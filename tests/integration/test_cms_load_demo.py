"""`manage.py load_demo`: a newcomer's site with real content, the same after a second run."""

import html
import importlib.machinery
import io
import json
import re
import sys
import types

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from wagtail.models import Page, Site

from cms import demo
from cms.models import ArticlePage, HomePage, NewsIndexPage, SiteSettings, StandardPage, User

pytestmark = pytest.mark.django_db

ARTICLE_TITLE = (
    "The Therapeutic Alliance — A Common Factor for Effective Psychotherapy, "
    "Pharmacotherapy, and Placebos"
)


@pytest.fixture
def no_app_demos(monkeypatch):
    """Only the site shell's content: other apps' demo modules are tested by their owners."""
    monkeypatch.setattr("cms.management.commands.load_demo.DEMO_APPS", [])


def run_load_demo(*args):
    out = io.StringIO()
    call_command("load_demo", *args, stdout=out)
    return out.getvalue()


def printed_password(output):
    match = re.search(r"password: (\S+)\n", output)
    assert match, output
    return match.group(1)


def test_load_demo_builds_the_site_and_prints_the_staff_login(client, no_app_demos):
    output = run_load_demo()

    site = Site.objects.get(is_default_site=True)
    assert isinstance(site.root_page.specific, HomePage)
    # Wagtail's starter "Welcome" page is gone.
    assert not Page.objects.filter(depth=2).exclude(pk=site.root_page.pk).exists()
    assert SiteSettings.for_site(site).organisation_name == "Heart and Soul of Change Project"
    assert "staff@example.org" in output
    assert "authenticator" in output and "QR code" in output

    staff = User.objects.get(email="staff@example.org")
    assert staff.is_staff and staff.is_superuser and staff.legal_name
    assert EmailAddress.objects.get(user=staff, email="staff@example.org").verified
    assert staff.check_password(printed_password(output))

    home = client.get("/").content.decode()
    assert "Latest news" in home
    assert html.escape(ARTICLE_TITLE, quote=False) in html.unescape(home)
    about = client.get("/about/").content.decode()
    assert "<h1>About the project</h1>" in about
    assert "Partners for Change Outcome Management System" in about


def test_the_article_is_published_with_the_newsletter_full_text(client, no_app_demos):
    run_load_demo()

    article = ArticlePage.objects.get(slug="the-therapeutic-alliance")
    assert article.title == ARTICLE_TITLE
    assert article.live

    raw = client.get(article.url).content.decode()
    page = html.unescape(raw)
    newsletter = demo.ARTICLE_FILE.read_text(encoding="utf-8")
    paragraphs = [part.strip() for part in newsletter.split("\n\n")][2:]
    assert len(paragraphs) == 9
    for paragraph in paragraphs:
        assert paragraph in page
    assert "Most school children have heard the riddle" in page
    assert "MyOutcomes’ Session Rating Scale can assist the therapist" in page
    # Nothing from the newsletter's next item (the workshop announcement).
    assert "Upcoming Workshop" not in page
    data = json.loads(re.search(r'"application/ld\+json">(.*?)</script>', raw, re.S).group(1))
    assert data["headline"] == ARTICLE_TITLE
    assert data["author"] == {"@type": "Organization", "name": "Heart and Soul of Change Project"}
    assert data["datePublished"] == "2014-11-01"


def test_load_demo_twice_leaves_one_of_everything(no_app_demos):
    first = run_load_demo()
    second = run_load_demo()

    assert HomePage.objects.count() == 1
    assert NewsIndexPage.objects.count() == 1
    assert StandardPage.objects.filter(slug="about").count() == 1
    assert ArticlePage.objects.filter(slug="the-therapeutic-alliance").count() == 1
    assert User.objects.filter(email__iexact="staff@example.org").count() == 1
    assert EmailAddress.objects.filter(email__iexact="staff@example.org").count() == 1
    assert Site.objects.count() == 1
    # The second run keeps the password it printed the first time.
    staff = User.objects.get(email="staff@example.org")
    assert staff.check_password(printed_password(first))
    assert "password: unchanged" in second


def test_load_demo_keeps_what_editors_changed(no_app_demos):
    run_load_demo()
    site_settings = SiteSettings.objects.get()
    site_settings.phone = "+44 20 7946 0000"
    site_settings.save()

    run_load_demo()

    assert SiteSettings.objects.get().phone == "+44 20 7946 0000"


def test_reset_staff_password_prints_a_working_new_one(no_app_demos):
    first = printed_password(run_load_demo())

    second = printed_password(run_load_demo("--reset-staff-password"))

    staff = User.objects.get(email="staff@example.org")
    assert second != first
    assert staff.check_password(second)


def test_load_demo_runs_each_apps_demo_content_in_order(monkeypatch):
    calls = []
    for app in ["courses", "payments", "certification", "certification.trainers"]:
        module = types.ModuleType(f"{app}.demo")
        module.__spec__ = importlib.machinery.ModuleSpec(f"{app}.demo", loader=None)
        module.load_demo_content = lambda stdout, app=app: calls.append(app)
        monkeypatch.setitem(sys.modules, f"{app}.demo", module)

    run_load_demo()

    assert calls == ["courses", "payments", "certification", "certification.trainers"]
