"""Certificates drawn on their program's static layer (cms.pdf_layers.render_pdf_on_static_layer)
look and read exactly like the whole template rendered at once, and fall back to the whole
render when a line does not fit the room the layer leaves."""

import io
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
from PIL import Image, ImageChops
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
from certification.services import certificate_pdf_bytes, issue_certificate
from certification.services.issuing import (
    CERTIFICATE_TEMPLATE,
    certificate_context,
    render_on_static_layer,
)
from cms import pdf
from courses.attendance import check_in

pytestmark = pytest.mark.django_db


def page_image(data):
    """The first page as pixels, as poppler draws it at 60 dpi."""
    result = subprocess.run(
        ["pdftoppm", "-r", "60", "-png", "-singlefile", "-"],
        input=data,
        capture_output=True,
        check=True,
    )
    return Image.open(io.BytesIO(result.stdout)).convert("RGB")


def layout_text(data):
    result = subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True
    )
    return result.stdout.decode("utf-8")


@pytest.fixture
def issued(db):
    make_sponsor()
    event = make_event("Feedback-Informed Treatment Intensive")
    make_offering(event, make_body("APA", provider_number="SAMPLE-1234"), course_number="APA-1")
    make_offering(
        event,
        make_body("NBCC", name="National Board for Certified Counselors"),
        course_number="20-123456",
    )

    def issue(name, sessions_attended=None):
        registration = make_registration(
            event,
            name=name,
            user=make_user(f"{len(name)}-{abs(hash(name))}@example.org", name),
            license_number="PY1234",
            license_jurisdiction="FL",
            profession="Psychologist",
        )
        for session in list(event.sessions.order_by("start"))[:sessions_attended]:
            check_in(registration, session, at=session.start - timedelta(minutes=5))
        EvaluationResponse.objects.create(registration=registration, event=event)
        return issue_certificate(registration)

    return issue


@pytest.mark.parametrize("name", ["Zoë Ångström-Núñez", "Анна Кузнецова", "Δημήτρης Παπαδόπουλος"])
def test_a_layered_certificate_is_the_whole_certificate_pixel_for_pixel(issued, name):
    certificate = issued(name)
    context = certificate_context(certificate)

    layered = render_on_static_layer(context)
    whole = pdf.render_pdf(CERTIFICATE_TEMPLATE, context)

    assert layered is not None, "the certificate fell back to the whole render"
    difference = ImageChops.difference(page_image(layered), page_image(whole))
    assert difference.getbbox() is None, f"pixels differ in {difference.getbbox()}"
    assert layout_text(layered) == layout_text(whole)
    # What was issued and stored is the layered document.
    assert layout_text(certificate_pdf_bytes(certificate)) == layout_text(layered)


def test_the_layer_is_copied_in_once_with_its_own_fonts(issued):
    certificate = issued("Jane Doe")
    page = PdfReader(io.BytesIO(certificate_pdf_bytes(certificate))).pages[0]

    forms = [x.get_object() for x in page["/Resources"]["/XObject"].values()]
    layers = [form for form in forms if form.get("/Subtype") == "/Form"]
    assert len(layers) == 1
    layer_fonts = layers[0]["/Resources"]["/Font"]
    assert layer_fonts, "the layer's text needs its fonts"
    text = page.extract_text()
    # The layer's words (the program) and the certificate's own (the name) are both text.
    assert "Feedback-Informed Treatment Intensive" in text
    assert "Jane Doe" in text


def test_a_name_too_long_for_its_line_is_rendered_whole_and_printed_in_full(issued):
    # 164 characters: within the 200 a legal name may have, far wider than its line.
    name = " ".join(["Maximiliana Konstantinopoulou-Wolfeschlegelsteinhausen"] * 3)
    certificate = issued(name)
    context = certificate_context(certificate)

    assert render_on_static_layer(context) is None
    flat = " ".join(layout_text(certificate_pdf_bytes(certificate)).split())
    assert name in flat
    assert "Feedback-Informed Treatment Intensive" in flat


def test_attendees_with_other_hours_are_drawn_on_a_layer_of_their_own(issued):
    # The hours are printed on the program's layer: an attendee who missed a session gets a
    # layer with their own hours, and the next full attendee is drawn on the full one again.
    full = issued("Jane Doe")
    partial = issued("John Roe", sessions_attended=2)
    full_again = issued("Maria Lopez")

    assert (full.total_hours, partial.total_hours) == (Decimal("5.00"), Decimal("3.00"))
    for certificate, hours in [(full, "5.00"), (partial, "3.00"), (full_again, "5.00")]:
        context = certificate_context(certificate)
        layered = render_on_static_layer(context)
        assert layered is not None
        text = " ".join(layout_text(certificate_pdf_bytes(certificate)).split())
        assert f"{hours} hours" in text
        assert certificate.attendee_name in text
        assert layout_text(layered) == layout_text(pdf.render_pdf(CERTIFICATE_TEMPLATE, context))
    assert "3.00 hours" not in layout_text(certificate_pdf_bytes(full_again))


def test_the_widest_certificate_id_is_drawn_on_one_line_on_the_layer(issued):
    # IDs are random: one of mostly wide letters once wrapped at a hyphen onto two lines,
    # which also sent that certificate to the whole render.
    certificate = issued("Jane Doe")
    certificate.code = "CE-WWWW-MMWW-WWMM-WWWW"
    context = certificate_context(certificate)

    layered = render_on_static_layer(context)

    assert layered is not None, "the ID did not fit its line"
    assert "CE-WWWW-MMWW-WWMM-WWWW" in layout_text(layered)
    whole = pdf.render_pdf(CERTIFICATE_TEMPLATE, context)
    assert "CE-WWWW-MMWW-WWMM-WWWW" in layout_text(whole)
