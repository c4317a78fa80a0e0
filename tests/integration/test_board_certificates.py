"""The certificate a board accepts: the attendee's own completion date, the presenters, a QR
code with its quiet zone, one page, and the exact legal name in the PDF for every script the
demo's attendees write their names in."""

import io
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
from pypdf import PdfReader

from certification.factories import (
    make_body,
    make_event,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.models import EvaluationResponse
from certification.services import (
    CERTIFICATE_TEMPLATE,
    certificate_context,
    certificate_pdf_bytes,
    issue_certificate,
)
from cms import pdf
from courses.attendance import check_in

pytestmark = [pytest.mark.board, pytest.mark.django_db]

# The names the demo's attendees have (courses/demo.py), one per script it uses.
DEMO_NAMES = [
    "Ana Lucía Pérez",
    "Мария Иванова",
    "李明",
    "محمد الأحمد",
    "प्रिया शर्मा",
    "Nguyễn Thị Lan",
    "Søren Ødegård",
]


def _text(data):
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _flat(data):
    return " ".join(_text(data).split())


@pytest.fixture
def conference(time_machine):
    """A three-day conference (one 120-minute CE session a day) that ended last week."""
    time_machine.move_to(datetime(2026, 3, 12, 18, 0, tzinfo=UTC), tick=False)
    make_sponsor()
    first = datetime(2026, 3, 4, 14, 0, tzinfo=UTC)  # 9:00 in New York
    event = make_event(
        "Feedback-Informed Treatment Conference",
        sessions=[(f"Day {day + 1}", first + timedelta(days=day), 120, 120) for day in range(3)],
    )
    make_offering(event, make_body("APA"), hours=6)
    return event


def _certificate(event, name, *, days=3):
    registration = make_registration(
        event, name=name, user=make_user(f"{abs(hash(name))}@example.org", name)
    )
    for session in event.sessions.order_by("start")[:days]:
        check_in(registration, session, at=session.start - timedelta(minutes=5))
    EvaluationResponse.objects.create(registration=registration, event=event)
    return issue_certificate(registration, notify=False)


def _render(certificate):
    return pdf.render_pdf(CERTIFICATE_TEMPLATE, certificate_context(certificate))


def test_certificate_prints_the_completion_date_and_the_presenters(conference):
    certificate = _certificate(conference, "Ana Lucía Pérez")
    # Presenters are copied onto the certificate when it is issued; print what it holds.
    certificate.presenters = "Scott D. Miller, PhD, Daryl Chow, PhD"

    text = _flat(_render(certificate))

    assert certificate.completed_on.isoformat() == "2026-03-06"
    assert "Date of completion: 6 March 2026" in text
    assert "Presented by Scott D. Miller, PhD, Daryl Chow, PhD" in text
    assert "4–6 March 2026" in text


def test_certificate_without_presenters_prints_no_empty_line(conference):
    certificate = _certificate(conference, "Søren Ødegård")
    certificate.presenters = ""

    text = _flat(_render(certificate))

    assert "Presented by" not in text
    assert "Date of completion: 6 March 2026" in text


def test_the_qr_code_has_its_quiet_zone_and_the_certificate_stays_one_page(conference):
    certificate = _certificate(conference, "Nguyễn Thị Lan")
    certificate.presenters = ", ".join(f"Presenter Number {n}, PhD" for n in range(12))

    data = _render(certificate)

    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    (qr,) = [image for image in reader.pages[0].images if image.image.size[0] < 100]
    pixels = qr.image.convert("L")
    width, height = pixels.size
    assert width == height
    border = [
        pixels.getpixel((x, y))
        for x in range(width)
        for y in range(height)
        if min(x, y, width - 1 - x, height - 1 - y) < 4
    ]
    assert set(border) == {255}, "four white modules on every side"
    # The finder pattern starts right after the quiet zone.
    assert pixels.getpixel((4, 4)) == 0
    assert pixels.getpixel((width - 5, 4)) == 0


@pytest.mark.parametrize("name", DEMO_NAMES)
def test_the_text_layer_and_the_metadata_hold_the_exact_name(conference, name):
    certificate = _certificate(conference, name)

    data = certificate_pdf_bytes(certificate)

    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 1
    lines = [" ".join(line.split()) for line in _text(data).splitlines()]
    assert name in lines, lines[:6]
    assert name in reader.metadata.title
    assert certificate.code in reader.metadata.title
    assert name in reader.metadata.subject


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
def test_search_and_copy_read_the_devanagari_name_exactly(conference):
    """pdftotext reads the text as search, copy and screen readers built on poppler do: the
    issue's name once read 'प्रिया श ार्मा' there (a shared vowel-sign glyph, cms/pdf_text.py)."""
    names = ["प्रिया शर्मा", "अनिता शर्मा"]
    for name in names:
        data = certificate_pdf_bytes(_certificate(conference, name))
        poppler = subprocess.run(
            ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
        ).stdout.decode()
        assert name in [line.strip() for line in poppler.splitlines()]
        assert "श ार्मा" not in poppler and "शार्मा" not in _text(data)


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="poppler-utils is not installed")
def test_known_limitation_poppler_reads_the_arabic_lam_alef_ligature_reversed(conference):
    """Remaining limitation, kept visible: the PDF's text layer holds 'محمد الأحمد' (pypdf reads
    it exactly, see above), but poppler reverses the two letters of the lam-alef ligature when
    it reorders right-to-left text. If this starts failing, poppler reads it right: drop it."""
    name = "محمد الأحمد"
    data = certificate_pdf_bytes(_certificate(conference, name))
    poppler = subprocess.run(
        ["pdftotext", "-", "-"], input=data, capture_output=True, check=True
    ).stdout.decode()

    assert name in _text(data)
    assert "محمد األحمد" in poppler


def test_glyphs_shared_with_the_name_read_right_elsewhere_and_in_bulk_printing(conference):
    """The name's conjuncts borrow glyphs ('म', 'ा', 'र') that other lines draw on their
    own; each keeps its own text, on one certificate and in a bulk-printed document."""
    first = _certificate(conference, "प्रिया शर्मा")
    first.presenters = "रमा मार्गरेट"
    second = _certificate(conference, "अनिता शर्मा")
    second.presenters = "मा"

    one = _flat(_render(first))
    both = PdfReader(
        io.BytesIO(
            pdf.render_combined_pdf(
                CERTIFICATE_TEMPLATE, [certificate_context(first), certificate_context(second)]
            )
        )
    )

    assert "प्रिया शर्मा" in one and "Presented by रमा मार्गरेट" in one
    pages = [" ".join(page.extract_text().split()) for page in both.pages]
    assert len(pages) == 2
    assert "प्रिया शर्मा" in pages[0] and "Presented by रमा मार्गरेट" in pages[0]
    assert "अनिता शर्मा" in pages[1] and "Presented by मा" in pages[1]
