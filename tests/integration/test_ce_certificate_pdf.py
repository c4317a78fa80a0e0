"""Certificates: every required field in the PDF's text, for names in many scripts."""

import io
import re
import subprocess
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone
from fontTools.ttLib import TTFont
from pypdf import PdfReader

from certification.factories import (
    make_body,
    make_event,
    make_offering,
    make_registration,
    make_sponsor,
    make_user,
)
from certification.models import CertificateStatus, CreditBasis, EvaluationResponse
from certification.services import certificate_pdf_bytes, issue_certificate
from certification.services.issuing import CERTIFICATE_TEMPLATE, certificate_context
from cms import pdf
from courses.attendance import check_in

pytestmark = pytest.mark.django_db

NAMES = {
    "latin": "Zoë Ångström-Núñez",
    "cyrillic": "Анна Сергеевна Кузнецова",
    "greek": "Δημήτρης Παπαδόπουλος",
    "arabic": "فاطمة الزهراء",
    "cjk": "王小明",
    "devanagari": "अनिता शर्मा",
    "html": '<b>Bobby</b> & "Tables"',
}

SHAPED_SCRIPTS = {"arabic", "devanagari"}
# The font that must have drawn each name (the fallback chain picked the right one).
FONTS = {
    "latin": "NotoSans",
    "cyrillic": "NotoSans",
    "greek": "NotoSans",
    "arabic": "NotoSansArabic",
    "cjk": "NotoSansCJK",
    "devanagari": "NotoSansDevanagari",
    "html": "NotoSans",
}


def pdf_text(data):
    """The PDF's text as poppler reads it (the shaping test: glyphs map back to the name)."""
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


def glyph_characters(page):
    """(drawn, boxed): the characters the page draws with a glyph its font really has, and
    those drawn as a missing-glyph box.

    When no installed font has a character, the text layer still names it (pdftotext reads
    it back) but its glyph id points at .notdef or past the end of the embedded font: the
    reader sees a box. Each font's ToUnicode map says which glyph stands for which characters.
    """
    drawn, boxed = set(), set()
    for font in page["/Resources"]["/Font"].values():
        font = font.get_object()
        cid_font = font["/DescendantFonts"][0].get_object()
        descriptor = cid_font["/FontDescriptor"].get_object()
        program = next(descriptor[key] for key in ("/FontFile2", "/FontFile3") if key in descriptor)
        glyph_count = TTFont(io.BytesIO(program.get_object().get_data()))["maxp"].numGlyphs
        # Codes past the font's glyphs can be aliases of real glyphs (cms/pdf_text.py):
        # the CIDToGIDMap table says which glyph each code draws.
        to_gid = cid_font.get("/CIDToGIDMap")
        table = to_gid.get_object().get_data() if to_gid and to_gid != "/Identity" else b""
        cmap = font["/ToUnicode"].get_object().get_data().decode("ascii")
        for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, flags=re.S):
            for glyph, text in re.findall(r"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>", block):
                characters = set(bytes.fromhex(text).decode("utf-16-be"))
                code = int(glyph, 16)
                if 2 * code + 2 <= len(table):
                    code = int.from_bytes(table[2 * code : 2 * code + 2], "big")
                real = 0 < code < glyph_count
                (drawn if real else boxed).update(characters)
        assert "beginbfrange" not in cmap, "read bfrange entries too"
    return drawn, boxed


def full_attendance(registration):
    for session in registration.event.sessions.all():
        check_in(registration, session, at=session.start - timedelta(minutes=5))


# Evening in Los Angeles, already the next day in UTC: the issue date must be the event's day.
ISSUED_AT = datetime(2026, 3, 18, 3, 30, tzinfo=UTC)


@pytest.fixture
def event_with_ce(time_machine):
    time_machine.move_to(ISSUED_AT, tick=False)
    make_sponsor()
    event = make_event("Feedback-Informed Treatment Intensive", time_zone="America/Los_Angeles")
    apa = make_body("APA", provider_number="SAMPLE-1234", minutes_per_credit=60)
    nbcc = make_body(
        "NBCC",
        name="National Board for Certified Counselors",
        provider_number="SAMPLE-6789",
        approval_statement="NBCC approval statement: the sponsor is an approved provider.",
        minutes_per_credit=50,
        credit_basis=CreditBasis.FULL_PROGRAM,
    )
    make_offering(event, apa, course_number="APA-FIT-1")
    make_offering(event, nbcc, course_number="20-123456")
    return event


@pytest.mark.parametrize("script", list(NAMES))
def test_certificate_pdf_holds_every_required_field(event_with_ce, script):
    name = NAMES[script]
    user = make_user(f"{script}@example.org", name)
    registration = make_registration(
        event_with_ce,
        name=name,
        user=user,
        license_number="PY1234",
        license_jurisdiction="FL",
        profession="Psychologist",
    )
    full_attendance(registration)
    EvaluationResponse.objects.create(registration=registration, event=event_with_ce)

    certificate = issue_certificate(registration)

    data = certificate_pdf_bytes(certificate)
    assert pdf.sha256_hex(data) == certificate.pdf_sha256
    text = pdf_text(data)
    flat = " ".join(text.split())
    reader = PdfReader(io.BytesIO(data))
    page = reader.pages[0]
    assert float(page.mediabox.width) > float(page.mediabox.height), "landscape"
    if script in SHAPED_SCRIPTS:
        # Shaped scripts come back in visual order (Arabic right to left, Devanagari vowel
        # signs moved); every letter must still be there as text, not as a box or "?".
        assert set(name.replace(" ", "")) <= set(text)
    else:
        assert name in flat
    fonts = {str(font.get_object()["/BaseFont"]) for font in page["/Resources"]["/Font"].values()}
    assert any(FONTS[script] in font.replace("-", "") for font in fonts), fonts
    assert "Feedback-Informed Treatment Intensive" in flat
    assert "FL #PY1234" in flat
    assert "In person: Hilton Garden Inn" in flat
    assert certificate.program_dates in flat
    assert "6.00 hours" in flat  # APA: 300 minutes / 60
    assert "6.00 hours" in flat or "6 hours" in flat
    assert "SAMPLE-1234" in flat and "SAMPLE-6789" in flat
    assert "NBCC approval statement" in flat
    assert "Heart and Soul of Change Project" in flat
    assert "Dana Whitfield, PhD" in flat
    assert certificate.code in flat
    assert f"/verify/{certificate.code}/" in flat
    # The issue date is the day in the event's zone (Los Angeles), not in UTC.
    issue_day = timezone.localtime(certificate.issued_at, event_with_ce.zone).date()
    assert certificate.issue_date == issue_day == date(2026, 3, 17)
    assert "Issued: 17 March 2026" in flat
    # Every letter of the name is drawn with a real glyph: none as a box, "?" or U+FFFD.
    drawn, boxed = glyph_characters(page)
    letters = set(name) - {" "}
    assert letters <= drawn, letters - drawn
    assert not letters & boxed, letters & boxed
    assert "?" not in flat and "\ufffd" not in flat
    assert certificate.status == CertificateStatus.ISSUED


def _box_by_class(page_box, class_name):
    return next(
        box
        for box in page_box.descendants()
        if getattr(box, "element", None) is not None
        and class_name in (box.element.get("class") or "").split()
        and box.element_tag == "table"
    )


def test_four_approvals_with_long_statements_stay_above_the_signature_and_qr_code(
    event_with_ce,
):
    # The Training of Trainers conference prints four approvals: the table once ran under the
    # signature and the QR code (the part above the footer had a fixed height).
    long_statement = (
        "Approved provider of continuing education for the state board, which accepts this "
        "program for the license renewal of its licensees; the sponsor maintains "
        "responsibility for the program and its content, and keeps attendance records for "
        "five years, as the board's rules for approved providers of this profession require. "
    )
    for short_name in ("FL491", "FLPSY", "NBCC", "APA"):
        body = make_body(short_name)
        body.name = f"Florida Board of Clinical Social Work, Marriage & Family Therapy {short_name}"
        body.approval_statement = long_statement
        body.save()
        make_offering(event_with_ce, body, course_number=f"20-{short_name}")
    registration = make_registration(event_with_ce, name="Ana Lucía Pérez", license_number="SW1")
    full_attendance(registration)
    EvaluationResponse.objects.create(registration=registration, event=event_with_ce)
    certificate = issue_certificate(registration)

    document, stylesheets = pdf._html(CERTIFICATE_TEMPLATE, certificate_context(certificate))
    rendered = document.render(stylesheets=stylesheets, font_config=pdf._font_config())
    assert len(rendered.pages) == 1
    page_box = rendered.pages[0]._page_box
    credits = _box_by_class(page_box, "credits")
    footer = _box_by_class(page_box, "footer")
    assert credits.position_y + credits.margin_height() <= footer.position_y
    data = certificate_pdf_bytes(certificate)
    assert len(PdfReader(io.BytesIO(data)).pages) == 1
    assert "keeps attendance records" in " ".join(pdf_text(data).split())
