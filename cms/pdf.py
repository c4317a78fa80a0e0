"""The PDF engine: an HTML template and its context become PDF bytes, stored privately.

CE certificates, trainer credentials, receipts and invoices all come from here, so it lives
in the shared site shell that every app may import. Rendering reuses one WeasyPrint
`FontConfiguration` for the life of the process: memory stays flat and each render is about
twice as fast as with a fresh one. Text is shaped by Pango/HarfBuzz with the system's Noto
fonts, so names in any script come out as glyphs, not boxes; cms.pdf_text keeps the text
layer of shaped scripts (Devanagari, Bengali, …) exact for search, copy and screen readers.
"""

import base64
import hashlib
import io
import logging
import re
import struct
import threading
import unicodedata
import zlib
from urllib.parse import quote

from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.template import TemplateDoesNotExist
from django.template.loader import render_to_string
from django.utils import timezone

from . import pdf_text

log = logging.getLogger(__name__)

# Names are printed exactly as typed; this stack lists a font with the glyphs for each script
# the organisation's attendees write their names in. Templates use it through the context.
FONT_STACK = (
    '"Noto Sans", "Noto Sans CJK SC", "Noto Sans Arabic", "Noto Sans Devanagari", '
    '"Noto Sans Hebrew", "Noto Sans Thai", "DejaVu Sans", sans-serif'
)

_font_configuration = None
# Pango's font map is not safe to share between threads; one render at a time per process
# (Celery workers are processes, so this costs nothing there).
_render_lock = threading.Lock()


def _font_config():
    global _font_configuration
    if _font_configuration is None:
        # Shaped scripts (Devanagari, …) read back exactly in search, copy and screen readers.
        pdf_text.install()
        from weasyprint.text.fonts import FontConfiguration

        _font_configuration = FontConfiguration()
    return _font_configuration


def _url_fetcher():
    """Only inline data: URIs; a certificate never makes the server fetch another host."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"})


# A document template may have its stylesheet beside it (`certificate.html` and
# `certificate.css`): rendered with the font stack and parsed once per process, not once per
# document (parsing the certificate's <style> cost a fifth of its render). None: no such file.
# A changed stylesheet is read when the process restarts.
_stylesheets = {}
# WeasyPrint's own stylesheet gives every element six pseudo-elements for list markers and
# footnotes (`::marker`, `::footnote-call`, ...) whose styles are computed for each element.
# A document that brings its own stylesheet has no lists or footnotes, so it is rendered
# without those rules: its elements' styles are computed once instead of seven times.
_MARKER_AND_NOTE_RULES = re.compile(
    r"^::(marker|footnote-call|footnote-marker|note-call|note-marker|note-callback) .*$",
    re.MULTILINE,
)
_lean_user_agent = []


def _stylesheet(template_name):
    if template_name not in _stylesheets:
        from weasyprint import CSS

        name = template_name.removesuffix(".html") + ".css"
        try:
            text = render_to_string(name, {"font_stack": FONT_STACK})
        except TemplateDoesNotExist:
            _stylesheets[template_name] = None
        else:
            _stylesheets[template_name] = CSS(
                string=text,
                base_url="data:,",
                url_fetcher=_url_fetcher(),
                font_config=_font_config(),
            )
    return _stylesheets[template_name]


def _lean_html_class():
    if not _lean_user_agent:
        from weasyprint import CSS, HTML
        from weasyprint import html as weasyprint_html
        from weasyprint.css.counters import CounterStyle

        # Its own counter styles: the list styles are already defined for every document.
        sheet = CSS(
            string=_MARKER_AND_NOTE_RULES.sub("", weasyprint_html.UA), counter_style=CounterStyle()
        )

        class LeanHTML(HTML):
            def _ua_stylesheets(self, forms=False):
                return [sheet, *super()._ua_stylesheets(forms)[1:]]

        _lean_user_agent.append(LeanHTML)
    return _lean_user_agent[0]


def _html(template_name, context):
    """(WeasyPrint HTML, the template's own stylesheets) for `template_name`."""
    from weasyprint import HTML

    html = render_to_string(template_name, {"font_stack": FONT_STACK, **context})
    stylesheet = _stylesheet(template_name)
    document_class = _lean_html_class() if stylesheet else HTML
    document = document_class(string=html, base_url="data:,", url_fetcher=_url_fetcher())
    return document, [stylesheet] if stylesheet else []


def render_pdf(template_name, context):
    """Render a Django template with `context` to PDF bytes."""
    with _render_lock:
        document, stylesheets = _html(template_name, context)
        return document.write_pdf(stylesheets=stylesheets, font_config=_font_config())


def render_combined_pdf(template_name, contexts):
    """Render many contexts as one multi-page PDF (bulk printing)."""
    with _render_lock:
        documents = []
        for context in contexts:
            document, stylesheets = _html(template_name, context)
            documents.append(document.render(stylesheets=stylesheets, font_config=_font_config()))
        if not documents:
            return b""
        pages = [page for document in documents for page in document.pages]
        return documents[0].copy(pages).write_pdf()


def sha256_hex(data):
    return hashlib.sha256(data).hexdigest()


def ascii_filename(text, fallback="document"):
    """A file name safe for any browser and file system; never empty."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    ascii_text = decomposed.encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^A-Za-z0-9]+", "-", ascii_text).strip("-")
    return slug[:80] or fallback


def store_pdf(pdf_bytes, filename_hint):
    """Save PDF bytes in the private storage; return (path, sha256).

    The file name holds part of the hash so that a stored PDF is never overwritten: a
    correction is a new file beside the old one.
    """
    digest = sha256_hex(pdf_bytes)
    now = timezone.now()
    name = f"certificates/{now:%Y/%m}/{ascii_filename(filename_hint)}-{digest[:16]}.pdf"
    path = storages["private"].save(name, ContentFile(pdf_bytes))
    return path, digest


def read_pdf(path, expected_sha256=None):
    """Read a stored PDF back; refuse it if its bytes no longer match the recorded hash."""
    with storages["private"].open(path, "rb") as handle:
        data = handle.read()
    if expected_sha256 and sha256_hex(data) != expected_sha256:
        raise ValueError(f"The stored file {path} does not match its recorded SHA-256.")
    return data


def qr_code_data_uri(url):
    """A QR code for `url` as an inline PNG data URI, ready for an <img src>.

    A small PNG drawn without smoothing (`image-rendering: pixelated` in the template) scans
    as well as SVG and renders about a fifth faster than an SVG path in WeasyPrint.
    """
    import qrcode

    # border=4: the white quiet zone of four modules the QR specification asks for.
    image = qrcode.make(url, border=4, box_size=4)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return image_data_uri(buffer.getvalue(), "image/png")


def qr_code_modules(url):
    """The QR code for `url` as rows of modules (True: black), its quiet zone included.

    The mask is fixed rather than chosen by scoring all eight (every mask scans; scoring them
    costs more than the rest of the code).
    """
    import qrcode

    # border=4: the white quiet zone of four modules the QR specification asks for.
    code = qrcode.QRCode(border=4, box_size=1, mask_pattern=0)
    code.add_data(url)
    code.make(fit=True)
    return code.get_matrix()


def one_bit_png_data_uri(modules):
    """`modules` (rows, True: black) as a PNG data URI of one pixel per module.

    A template scales it up without smoothing (`image-rendering: pixelated`), so it prints as
    sharp as a large image while WeasyPrint decodes and embeds a few hundred bytes; the PNG
    is written here, one bit per pixel, in a third of the time Pillow takes.
    """
    return image_data_uri(_one_bit_png(modules), "image/png")


def _packed_row(row):
    """One row of modules as bytes of one bit per pixel, 0 for black, padded to whole bytes
    (as both PNG's and PDF's one-bit greyscale read it)."""
    bits = "".join("0" if dark else "1" for dark in row).ljust(-(-len(row) // 8) * 8, "0")
    return int(bits, 2).to_bytes(len(bits) // 8, "big")


def _one_bit_png(rows):
    """A greyscale PNG of one bit per pixel: True in `rows` is black."""
    size = len(rows)
    pixels = bytearray()
    for row in rows:
        pixels += b"\0" + _packed_row(row)  # filter type 0

    def chunk(kind, data):
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(bytes(pixels)))
        + chunk(b"IEND", b"")
    )


def png_at_height(data, name, height_px):
    """(bytes, content type): the image scaled down to the pixels it is printed with, as PNG
    (or as given, when it cannot be read)."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError):
        return data, "image/png" if name.lower().endswith(".png") else "image/jpeg"
    if image.height > height_px:
        width = max(1, round(image.width * height_px / image.height))
        image = image.resize((width, height_px), Image.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue(), "image/png"


def image_data_uri(data, content_type):
    return f"data:{content_type};base64," + base64.b64encode(data).decode("ascii")


def content_disposition(filename, *, inline=False):
    """A Content-Disposition header with an ASCII fallback and the RFC 5987 UTF-8 name.

    Browsers that understand `filename*` show the name in its own script; the others get the
    transliterated fallback, which is never empty.
    """
    stem, dot, extension = filename.rpartition(".")
    if not dot:
        stem, extension = filename, ""
    fallback = ascii_filename(stem, fallback="certificate") + (f".{extension}" if dot else "")
    disposition = "inline" if inline else "attachment"
    return f"{disposition}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
