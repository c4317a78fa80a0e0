"""The route matrix, continued for the members' library (issue 16).

The library is served by Wagtail's page and document views (the catch-all page route and
`documents/<id>/<name>`), so the URLconf walk in test_route_matrix.py reaches it only through
the home page and a placeholder document. Here every visitor of that matrix asks for the
library's index, one of its item pages and one of its members-only files, and each answer must
be the one declared for the library:

- a member of the member group (the matrix's owner, made a member here): served;
- anyone else (a signed-out visitor, another member, each staff role in each second-factor
  state): the join page in the site's style with status 403, never a 404, never the file and
  never a login form that does not say what is behind it; signed out, the page links to the
  site's login with the way back. Staff without a second factor in this session may instead
  be sent to that step first.
"""

import html
import io
import re
from urllib.parse import quote

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache

from cms.demo import ensure_members_library
from courses.demo import MEMBER_GROUP
from courses.factories import events_index
from tests.accounts_support import make_member
from tests.integration.test_route_matrix import VISITORS, make_visitor, to_step_up

pytestmark = pytest.mark.django_db

JOIN_HEADING = "is for members"
HOW_TO_JOIN = "<p>Membership comes with the Training of Trainers Conference.</p>"


def _library_paths():
    events_index()  # the site's home page, under which the library lives
    group, _ = Group.objects.get_or_create(name=MEMBER_GROUP)
    library = ensure_members_library(group, HOW_TO_JOIN, io.StringIO())
    item = library.get_children().live().first().specific
    return group, {
        "index": (library.url, "Members' library"),
        "item page": (item.url, item.title),
        "file": (item.document.url, "PLACEHOLDER"),
    }


def _body(response):
    if response.streaming:
        return b"".join(response.streaming_content).decode("utf-8", "replace")
    return html.unescape(response.content.decode("utf-8", "replace"))


def _problem(visitor, path, response, served_text):
    """None when the answer is the library's declared one for this visitor."""
    status = response.status_code
    if status >= 500:
        return "no server error"
    if visitor.owner:
        ok = status == 200 and served_text in _body(response)
        return None if ok else "the member served"
    if visitor.state in ("no_device", "no_record") and to_step_up(response, visitor.state):
        return None
    body = _body(response) if status == 403 else ""
    refused = status == 403 and JOIN_HEADING in body and "PLACEHOLDER" not in body
    if visitor.user is None:
        refused = refused and f"/accounts/login/?next={quote(path)}" in body
    return None if refused else "the join page (403)"


@pytest.mark.parametrize("kind", VISITORS)
def test_the_library_answers_each_visitor_as_declared(kind):
    cache.clear()
    group, paths = _library_paths()
    owner = make_member("owner@example.org", "Olu Owner")
    owner.groups.add(group)
    visitor = make_visitor(kind, owner)

    wrong = []
    for what, (path, served_text) in paths.items():
        response = visitor.client.get(path)
        problem = _problem(visitor, path, response, served_text)
        if problem:
            location = response.get("Location", "")
            wrong.append(f"{what} {path}: {response.status_code} {location} (expected {problem})")
    assert not wrong, f"{visitor.label}:\n" + "\n".join(wrong)


def test_the_join_page_says_what_membership_includes_and_how_to_join(client):
    """What the refusal in the matrix shows a signed-in non-member (checked once, in words)."""
    _, paths = _library_paths()
    client.force_login(make_member("nora@example.org", "Nora Nonmember"))
    response = client.get(paths["index"][0])
    text = " ".join(re.sub(r"<[^>]+>", " ", response.content.decode()).split())
    assert response.status_code == 403
    assert "What membership includes" in text and "How to join" in text
    assert "Membership comes with the Training of Trainers Conference." in text
