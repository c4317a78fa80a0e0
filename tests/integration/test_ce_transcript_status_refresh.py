"""A person waiting for a long transcript sees it appear: while the worker builds it, the
status page loads a small script (no inline script: the CSP forbids them) that checks again
every few seconds and says so; once ready or failed, the page asks nothing more."""

import re

import pytest
from django.conf import settings

from certification.models import TranscriptJob
from certification.models.transcripts import TranscriptStatus
from certification.transcript_views import REFRESH_SECONDS
from courses.factories import UserFactory

pytestmark = pytest.mark.django_db

SCRIPT = 'src="/static/dist/transcript.js"'


def _status_page(client, status, **fields):
    user = UserFactory()
    job = TranscriptJob.objects.create(owner=user, status=status, certificates=120, **fields)
    client.force_login(user)
    response = client.get(job.get_absolute_url())
    assert response.status_code == 200
    return response, response.content.decode()


@pytest.mark.parametrize("status", [TranscriptStatus.QUEUED, TranscriptStatus.BUILDING])
def test_a_transcript_being_built_checks_again_by_itself(client, status):
    response, html = _status_page(client, status)

    assert f'data-refresh-seconds="{REFRESH_SECONDS}"' in html
    assert SCRIPT.replace("/static/", settings.STATIC_URL) in html
    assert "This page checks by itself every few seconds" in html
    assert "Your transcript of 120 certificates is being prepared." in html
    assert "Check again" in html  # without JavaScript
    # The script is a file, never inline, so the CSP can keep forbidding inline scripts.
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", html)
    assert (
        "'unsafe-inline'"
        not in response.headers.get("Content-Security-Policy", "")
        .split("script-src", 1)[-1]
        .split(";", 1)[0]
    )


@pytest.mark.parametrize(
    ("status", "says"),
    [
        (TranscriptStatus.READY, "Your transcript of 120 certificates is ready."),
        (TranscriptStatus.FAILED, "Your transcript could not be built."),
    ],
)
def test_a_finished_transcript_page_stops_checking(client, status, says):
    _response, html = _status_page(client, status, pdf_path="x.pdf" if status == "ready" else "")

    assert says in html
    assert "data-refresh-seconds" not in html
    assert "dist/transcript.js" not in html
    assert "This page checks by itself" not in html


def test_the_script_is_built_with_the_others():
    build = (settings.BASE_DIR / "frontend" / "build.mjs").read_text()
    assert 'transcript: "frontend/transcript.js"' in build
    source = (settings.BASE_DIR / "frontend" / "transcript.js").read_text()
    # It reads the same markers the page prints.
    assert "[data-transcript-status]" in source and "refreshSeconds" in source
