"""The members' library in a browser, at desktop and phone widths: a member signs in from the
library's address, lands back in the library and opens a file; a signed-in non-member gets the
join page in the site's style, with what membership includes and how to join."""

import io
import re
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from playwright.sync_api import expect

from cms.demo import ensure_members_library
from courses.demo import MEMBER_GROUP
from courses.factories import events_index
from tests.accounts_support import PASSWORD, log_in_browser, make_member
from tests.browser.conftest import assert_accessible

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

WIDTHS = [1280, 390]
HOW_TO_JOIN = (
    '<p>A year of membership comes with the <a href="/events/">Training of Trainers '
    "Conference</a>. Buying membership online is coming soon.</p>"
)


@pytest.fixture
def library():
    events_index()
    group, _ = Group.objects.get_or_create(name=MEMBER_GROUP)
    return ensure_members_library(group, HOW_TO_JOIN, io.StringIO())


def assert_no_sideways_scroll(page):
    overflow = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"


@pytest.mark.parametrize("width", WIDTHS)
def test_a_member_signs_in_from_the_library_and_opens_a_manual(page, library, width):
    page.set_viewport_size({"width": width, "height": 900})
    member = make_member("martha@example.org", "Martha Member")
    member.groups.add(Group.objects.get(name=MEMBER_GROUP))

    page.goto(library.url)
    # Signed out, the library says what it is and how a member gets in.
    expect(page.locator("main h1")).to_have_text("Members' library is for members")
    assert_accessible(page)
    page.locator("main").get_by_role("link", name="Log in as a member").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=(/|%2F)member-site(/|%2F)$"))
    page.get_by_label("Email").fill(member.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main").get_by_role("button", name="Log in").click()

    expect(page.locator("main h1")).to_have_text("Members' library")
    manuals = page.get_by_role("region", name="Manual")
    expect(manuals).to_contain_text("ORS/SRS administration and scoring manual")
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    if width < 800:
        page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Members' library")

    manuals.get_by_role("link", name="The PCOMS Manual, second edition", exact=True).click()
    expect(page.locator("main h1")).to_have_text("The PCOMS Manual, second edition")
    assert_no_sideways_scroll(page)
    assert_accessible(page)
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Download “The PCOMS Manual, second edition”").click()
    download = downloading.value
    assert download.suggested_filename == "pcoms-manual-placeholder.txt"
    text = Path(download.path()).read_text(encoding="utf-8")
    assert text.startswith("The PCOMS Manual, second edition")
    assert "PLACEHOLDER: this file stands in for the real one" in text


@pytest.mark.parametrize("width", WIDTHS)
def test_a_non_member_gets_the_join_page(page, library, width):
    page.set_viewport_size({"width": width, "height": 900})
    log_in_browser(page, make_member("nora@example.org", "Nora Nonmember"))

    page.goto("/member-site/pcoms-manual/")
    expect(page.locator("main h1")).to_have_text("Members' library is for members")
    expect(page.get_by_role("region", name="What membership includes")).to_contain_text(
        "The administration and scoring manual of the ORS/SRS"
    )
    join = page.get_by_role("region", name="How to join")
    expect(join.get_by_role("link", name="Training of Trainers Conference")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("PLACEHOLDER")
    assert_no_sideways_scroll(page)
    assert_accessible(page)

    # The file's address refuses the same way, not with a file or a bare login form.
    document = library.get_children().get(slug="pcoms-manual").specific.document
    page.goto(document.url)
    expect(page.locator("main h1")).to_have_text("Members' library is for members")
    if width < 800:
        page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("navigation", name="Main")).not_to_contain_text("Members' library")
