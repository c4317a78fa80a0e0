"""The members' library: pages and files for the member group only.

A member reads the library and downloads its files; a signed-in non-member or a lapsed member
gets the join page in the site's style (what membership includes, how to join); a signed-out
visitor gets the same page with the way to log in and come back. Search and the navigation
show the library to members only, and the confirmation email of an event that includes
membership points to it.
"""

import html as html_lib
import io
import re
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from wagtail.documents import get_document_model
from wagtail.models import Collection, Page

from cms.demo import LIBRARY_COLLECTION, ensure_members_library
from cms.factories import StandardPageFactory, home_page
from cms.library import LibraryIndexPage, LibraryItemKind, LibraryItemPage
from courses.demo import MEMBER_GROUP, load_demo_content
from courses.factories import UserFactory, events_index, make_event, make_plan, register_with_ce
from courses.models import EventPage
from tests.accounts_support import PASSWORD, make_member

pytestmark = pytest.mark.django_db

HOW_TO_JOIN = (
    '<p>A year of membership comes with the <a href="/events/">Training of Trainers '
    "Conference</a>.</p>"
)


def _text(response):
    html = response.content.decode()
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", html)).split())


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def library():
    """The demo's library (four placeholder items) under the site's home page."""
    events_index()  # the home page, the way the events' own tests make it
    group, _ = Group.objects.get_or_create(name=MEMBER_GROUP)
    return ensure_members_library(group, HOW_TO_JOIN, io.StringIO())


@pytest.fixture
def group(library):
    return Group.objects.get(name=MEMBER_GROUP)


@pytest.fixture
def member_client(client, group):
    person = make_member("martha@example.org", "Martha Member")
    person.groups.add(group)
    client.force_login(person)
    client.person = person
    return client


@pytest.fixture
def outsider_client(client, library):
    client.force_login(make_member("nora@example.org", "Nora Nonmember"))
    return client


def _item(slug="pcoms-manual"):
    return LibraryItemPage.objects.get(slug=slug)


def _assert_join_page(response):
    text = _text(response)
    assert response.status_code == 403
    assert "Members' library is for members" in text
    assert "What membership includes" in text and "The PCOMS Manual, second edition" in text
    assert "How to join" in text and "Training of Trainers Conference" in text
    # The site's own page: its header and account menu, not Wagtail's bare login form.
    assert "Log out" in text and "My registrations" in text
    assert 'name="password"' not in response.content.decode()
    assert "PLACEHOLDER" not in text


def test_a_member_reads_the_library_and_downloads_a_file(member_client, library):
    text = _text(member_client.get(library.url))
    assert "Presentation slides" in text and "Manual" in text and "Recorded webinar" in text
    assert "The PCOMS Manual, second edition" in text
    assert "Heroic Clients, Heroic Agencies" in text

    item = _item()
    page = member_client.get(item.url)
    assert page.status_code == 200
    assert "Download “The PCOMS Manual, second edition”" in _text(page)

    download = member_client.get(item.document.url)
    assert download.status_code == 200
    body = b"".join(download.streaming_content).decode()
    assert "The PCOMS Manual, second edition" in body and "PLACEHOLDER" in body


@pytest.mark.parametrize("what", ["index", "item", "document"])
def test_a_signed_in_non_member_gets_the_join_page(outsider_client, library, what):
    url = {
        "index": library.url,
        "item": _item().url,
        "document": _item().document.url,
    }[what]
    _assert_join_page(outsider_client.get(url))


def test_a_lapsed_member_is_refused_on_the_next_request(member_client, group):
    item = _item()
    assert member_client.get(item.document.url).status_code == 200

    # The membership service takes people out of the group by deleting the row itself.
    memberships = get_user_model().groups.through.objects
    memberships.filter(user_id=member_client.person.pk, group=group).delete()

    _assert_join_page(member_client.get(item.url))
    _assert_join_page(member_client.get(item.document.url))


def test_the_menu_link_follows_membership_at_once(member_client, group):
    assert "Members' library" in _text(member_client.get("/"))
    member_client.person.groups.remove(group)
    assert "Members' library" not in _text(member_client.get("/"))
    member_client.person.groups.add(group)
    assert "Members' library" in _text(member_client.get("/"))


@pytest.mark.parametrize("what", ["index", "document"])
def test_a_signed_out_visitor_gets_the_join_page_with_the_way_to_log_in_and_back(
    client, library, what
):
    url = library.url if what == "index" else _item().document.url
    response = client.get(url)
    assert response.status_code == 403
    text = _text(response)
    assert "Members' library is for members" in text
    assert "What membership includes" in text and "How to join" in text
    assert "PLACEHOLDER" not in text
    login = re.search(r'href="(/accounts/login/\?next=[^"]+)"', response.content.decode())
    assert login and html_lib.unescape(login.group(1)) == f"/accounts/login/?next={quote(url)}"

    # The member logs in there and comes back to what they asked for.
    member = make_member("martha@example.org", "Martha Member")
    member.groups.add(Group.objects.get(name=MEMBER_GROUP))
    back = client.post(
        html_lib.unescape(login.group(1)),
        {"login": member.email, "password": PASSWORD},
    )
    assert back.status_code == 302 and back["Location"] == url


def test_search_shows_library_pages_to_members_only(client, library, group):
    home = library.get_parent()
    StandardPageFactory(parent=home, title="PCOMS for agencies", introduction="About PCOMS.")

    def titles(search_client):
        return _text(search_client.get("/search/", {"query": "PCOMS"}))

    client.force_login(make_member("nora@example.org", "Nora Nonmember"))
    assert "PCOMS for agencies" in titles(client)
    assert "The PCOMS Manual, second edition" not in titles(client)
    client.logout()
    assert "PCOMS for agencies" in titles(client)
    assert "The PCOMS Manual, second edition" not in titles(client)

    member = make_member("martha@example.org", "Martha Member")
    member.groups.add(group)
    client.force_login(member)
    found = titles(client)
    assert "PCOMS for agencies" in found and "The PCOMS Manual, second edition" in found


def test_navigation_and_my_registrations_link_the_library_for_members_only(client, library, group):
    client.force_login(make_member("nora@example.org", "Nora Nonmember"))
    for path in ("/", "/registrations/"):
        response = client.get(path)
        assert response.status_code == 200
        assert f'href="{library.url}"' not in response.content.decode()

    member = make_member("martha@example.org", "Martha Member")
    client.force_login(member)
    member.groups.add(group)  # the link appears on the next page, with no cache to clear
    home = client.get("/").content.decode()
    nav = re.search(r'<nav class="site-nav".*?</nav>', home, flags=re.S).group(0)
    assert f'href="{library.url}"' in nav and "Members&#x27; library" in nav
    mine = client.get("/registrations/").content.decode()
    assert "Slides, manuals and recorded webinars for members are in" in mine
    assert f'<a href="{library.url}">Members&#x27; library</a>.' in mine


def test_the_library_is_not_in_the_menu_for_everyone_even_when_marked(client, library):
    library.show_in_menus = True
    library.save_revision().publish()
    response = client.get("/")
    nav = re.search(r'<nav class="site-nav".*?</nav>', response.content.decode(), flags=re.S)
    assert f'href="{library.url}"' not in nav.group(0)


def test_a_recording_streams_with_range_requests_for_members_only(member_client, library, group):
    collection = Collection.objects.get(name=LIBRARY_COLLECTION)
    video = get_document_model()(title="Webinar recording", collection=collection)
    video.file.save("webinar.mp4", ContentFile(bytes(range(256)) * 4), save=False)
    video.save()
    item = _item("webinar-feedback-in-supervision")
    item.recording = video
    item.save_revision().publish()

    page = member_client.get(item.url).content.decode()
    assert f'<video class="library-recording" controls preload="metadata" src="{video.url}"' in page

    part = member_client.get(video.url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206
    assert part["Content-Range"] == "bytes 10-19/1024" and part["Accept-Ranges"] == "bytes"
    assert part.streaming and b"".join(part.streaming_content) == bytes(range(10, 20))
    whole = member_client.get(video.url)
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    assert len(b"".join(whole.streaming_content)) == 1024
    assert member_client.get(video.url, HTTP_RANGE="bytes=5000-").status_code == 416

    member_client.force_login(make_member("nora@example.org", "Nora Nonmember"))
    _assert_join_page(member_client.get(video.url, HTTP_RANGE="bytes=10-19"))


def test_an_item_refuses_a_file_anyone_could_download(library):
    public_file = get_document_model()(
        title="Open handout", collection=Collection.get_first_root_node()
    )
    public_file.file.save("handout.txt", ContentFile(b"open"), save=False)
    public_file.save()
    item = _item()
    item.document = public_file
    with pytest.raises(ValidationError) as refused:
        item.full_clean()
    assert "which anyone may download from" in str(refused.value)

    item.document = None
    with pytest.raises(ValidationError, match="Choose a file to download, a recording"):
        item.full_clean()


def test_the_confirmation_of_an_event_with_membership_links_the_library(
    client, library, group, django_capture_on_commit_callbacks
):
    event = make_event(title="Training of Trainers", included_membership=make_plan(group))
    person = UserFactory(email="tess@example.org", legal_name="Tess Trainer")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        register_with_ce(event, person)

    message = next(m for m in mail.outbox if "When:" in m.body)
    assert "includes 12 months of membership" in message.body
    assert f"Members' library: {settings.SITE_URL}/member-site/" in message.body
    assert "Open the members' library" in message.alternatives[0][0]

    client.force_login(person)
    assert "The PCOMS Manual, second edition" in _text(client.get(library.url))

    other = make_event(title="Supervision day")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        register_with_ce(other, UserFactory(email="sam@example.org"))
    plain = next(m for m in mail.outbox if "When:" in m.body)
    assert "membership" not in plain.body and "library" not in plain.body


def test_the_demo_library_is_loaded_once(library, group):
    ensure_members_library(group, HOW_TO_JOIN, io.StringIO())

    assert LibraryIndexPage.objects.count() == 1
    assert sorted(LibraryItemPage.objects.values_list("kind", flat=True)) == sorted(
        [
            LibraryItemKind.MANUAL,
            LibraryItemKind.MANUAL,
            LibraryItemKind.PRESENTATION,
            LibraryItemKind.RECORDING,
        ]
    )
    documents = get_document_model().objects.filter(collection__name=LIBRARY_COLLECTION)
    assert documents.count() == 4
    assert Collection.objects.filter(name=LIBRARY_COLLECTION).count() == 1
    restriction = library.get_view_restrictions().get()
    assert list(restriction.groups.all()) == [group]
    assert list(documents.first().collection.get_view_restrictions().get().groups.all()) == [group]
    assert library.url == "/member-site/"
    assert Page.objects.filter(slug="member-site").count() == 1


def test_load_demo_twice_gives_one_library_whose_join_page_leads_to_the_conference(client):
    home_page()
    load_demo_content(io.StringIO())
    load_demo_content(io.StringIO())

    assert LibraryIndexPage.objects.count() == 1 and LibraryItemPage.objects.count() == 4
    assert get_document_model().objects.filter(collection__name=LIBRARY_COLLECTION).count() == 4
    tot = EventPage.objects.get(
        slug__startswith="training-of-trainers-conference",
        title="Training of Trainers Conference",
    )
    client.force_login(make_member("nora@example.org", "Nora Nonmember"))
    refused = client.get("/member-site/")
    assert refused.status_code == 403
    assert f'<a href="{tot.url}">Training of Trainers Conference</a>' in refused.content.decode()
