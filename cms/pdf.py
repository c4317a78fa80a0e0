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


# -- a page drawn as a static layer, laid out once, and one document's own lines -------------
#
# Most of a certificate is the same for every attendee of a program (sponsor, title, program,
# approval statements, signature); laying it out is most of a render. The template renders
# that static layer when its context has `static`: each of the document's own lines keeps its
# element with an id `slot-…` but holds a no-break space (one line of the same font), so the
# layer's layout is the same whoever the document is for. It is laid out once per distinct
# layer (its HTML is the key) and kept for the process. Each document then lays out only its
# own lines (a second template with the same `slot-…` ids), each placed absolutely at the
# place its slot has in the layer, and both are drawn on one page: the static layer first.
# When a line does not fit its slot (a long name that wraps, a taller script), or either
# layout is not one page, the caller renders the whole template instead.
#
# The layer is kept as a finished PDF page, not as boxes to draw again: its content stream
# (compressed once) and its resources (fonts already subset to the layer's glyphs, images)
# are copied into each document as one form XObject that the page draws before its own
# lines. Drawing the layer's boxes and subsetting its fonts for every document cost as much
# as laying out the document's own lines.
#
# A one-bit picture (a QR code) is not laid out at all: the layer keeps an empty box for it
# with an id `picture-…`, and the document's picture is drawn into that box as an image of
# one bit per module, unsmoothed, as WeasyPrint draws the same picture given as an <img>.
# Laying out, decoding and re-encoding that <img> cost a fifth of a certificate's render.
#
# A layer is kept per distinct HTML: for certificates, per program, hours and dates. Most
# attendees of a program share one; a conference whose attendees came on different days has
# a few, so a few dozen are kept (each is one page's compressed drawing and subset fonts).

STATIC_LAYERS_KEPT = 24
_LAYER_NAME = "StaticLayer"
_static_layers = {}
_SLOT_ID = re.compile(r'id="(slot-[\w-]+)"')
_PICTURE_PREFIX = "picture-"


def _line_extent(box):
    """(top, height) of the line boxes inside `box`, in CSS px; None if it has none."""
    from weasyprint.formatting_structure.boxes import LineBox

    lines = [child for child in box.descendants() if isinstance(child, LineBox)]
    if not lines:
        return None
    top = min(line.position_y for line in lines)
    return top, max(line.position_y + line.height for line in lines) - top


def _slot_places(page_box):
    """{slot id: (left, top, width, height)} in CSS px on a laid-out page. A block slot spans
    its lines; an inline slot (a span in a cell) its one line, across its block's width."""
    from weasyprint.formatting_structure.boxes import (
        BlockContainerBox,
        InlineBox,
        LineBox,
        ParentBox,
    )

    places = {}

    def visit(box, block, line):
        element = getattr(box, "element", None)
        slot = element.get("id", "") if element is not None else ""
        if slot.startswith("slot-") and slot not in places:
            if isinstance(box, InlineBox):
                if line is not None:
                    places[slot] = (
                        block.content_box_x(),
                        line.position_y,
                        block.width,
                        line.height,
                    )
            elif (extent := _line_extent(box)) is not None:
                places[slot] = (box.content_box_x(), extent[0], box.width, extent[1])
        if isinstance(box, ParentBox):
            block = box if isinstance(box, BlockContainerBox) else block
            line = box if isinstance(box, LineBox) else line
            for child in box.children:
                visit(child, block, line)

    visit(page_box, None, None)
    return places


def _picture_places(page_box):
    """{picture id: (left, top, width, height)} of each `picture-…` box, in CSS px from the
    page's top left corner (where the document's own page draws it)."""
    places = {}
    for box in page_box.descendants():
        element = getattr(box, "element", None)
        name = element.get("id", "") if element is not None else ""
        if name.startswith(_PICTURE_PREFIX) and name not in places:
            places[name] = (box.content_box_x(), box.content_box_y(), box.width, box.height)
    return places


def _one_bit_image(modules):
    """A PDF image of `modules` (rows of booleans, True: black), one bit per pixel, drawn
    without smoothing."""
    import pydyf

    rows = b"".join(_packed_row(row) for row in modules)
    extra = {
        "Type": "/XObject",
        "Subtype": "/Image",
        "Width": len(modules[0]),
        "Height": len(modules),
        "ColorSpace": "/DeviceGray",
        "BitsPerComponent": 1,
        "Interpolate": "false",
        "Filter": "/FlateDecode",
    }
    return pydyf.Stream([zlib.compress(rows)], extra=extra)


class _StaticLayer:
    """A laid-out static layer: where each slot is, and the layer as a finished PDF page (its
    content stream compressed, its resources as pypdf read them) to copy into documents."""

    def __init__(self, slots, pictures, pdf_bytes):
        import pypdf

        self.slots = slots
        self.pictures = pictures
        page = pypdf.PdfReader(io.BytesIO(pdf_bytes)).pages[0]
        self.content = zlib.compress(page.get_contents().get_data(), 6)
        self.bbox = [float(number) for number in page.mediabox]
        self.resources = page["/Resources"].get_object()

    def form(self):
        """A new form XObject of the layer; its resources are copied in by `copy_resources`."""
        import pydyf

        extra = {
            "Type": "/XObject",
            "Subtype": "/Form",
            "BBox": pydyf.Array(self.bbox),
            "Filter": "/FlateDecode",
        }
        return pydyf.Stream([self.content], extra=extra)

    def copy_resources(self, form, pdf):
        form.extra["Resources"] = _copied_pdf_object(self.resources, pdf, {})


def _copied_pdf_object(value, pdf, copied):
    """`value` (read by pypdf) as a pydyf object of `pdf`; indirect objects are added to `pdf`
    once each (`copied`: their numbers in the layer -> references in `pdf`). Streams keep
    their encoded bytes and filters, so fonts and images are not decoded or compressed again."""
    import pydyf
    from pypdf import generic

    if isinstance(value, generic.IndirectObject):
        if value.idnum not in copied:
            target = _copied_pdf_object(value.get_object(), pdf, copied)
            pdf.add_object(target)
            copied[value.idnum] = target.reference
        return copied[value.idnum]
    if isinstance(value, generic.StreamObject):
        extra = {
            key[1:]: _copied_pdf_object(item, pdf, copied)
            for key, item in value.items()
            if key != "/Length"
        }
        return pydyf.Stream([value._data], extra=extra)  # _data: the stream's encoded bytes
    if isinstance(value, generic.DictionaryObject):
        return pydyf.Dictionary(
            {key[1:]: _copied_pdf_object(item, pdf, copied) for key, item in value.items()}
        )
    if isinstance(value, generic.ArrayObject):
        return pydyf.Array([_copied_pdf_object(item, pdf, copied) for item in value])
    if isinstance(value, generic.NameObject):
        return str(value)
    if isinstance(value, generic.BooleanObject):
        return "true" if value else "false"
    if isinstance(value, generic.NullObject):
        return "null"
    if isinstance(value, generic.FloatObject):
        return float(value)
    if isinstance(value, generic.NumberObject):
        return int(value)
    if isinstance(value, (generic.TextStringObject, generic.ByteStringObject)):
        return b"<" + bytes(value.original_bytes).hex().encode() + b">"  # written as is
    raise TypeError(f"cannot copy a {type(value).__name__} into a PDF")


def _static_layer(template_name, context):
    """The `_StaticLayer` of the template for this context, or None if it is not one page."""
    html = render_to_string(template_name, {"font_stack": FONT_STACK, **context, "static": True})
    key = (template_name, sha256_hex(html.encode("utf-8")))
    if key in _static_layers:
        _static_layers[key] = _static_layers.pop(key)  # most recently used last
        return _static_layers[key]
    stylesheet = _stylesheet(template_name)
    document = _lean_html_class()(string=html, base_url="data:,", url_fetcher=_url_fetcher())
    rendered = document.render(stylesheets=[stylesheet], font_config=_font_config())
    layer = None
    if len(rendered.pages) == 1:
        page_box = rendered.pages[0]._page_box
        origin_x, origin_y = page_box.content_box_x(), page_box.content_box_y()
        slots = {
            slot: (left - origin_x, top - origin_y, width, height)
            for slot, (left, top, width, height) in _slot_places(page_box).items()
        }
        layer = _StaticLayer(slots, _picture_places(page_box), rendered.write_pdf())
    while len(_static_layers) >= STATIC_LAYERS_KEPT:
        del _static_layers[next(iter(_static_layers))]
    _static_layers[key] = layer
    return layer


def _placed(html, slots):
    """The document's own lines with each slot's measured place written on its element."""

    def place(match):
        left, top, width, _height = slots[match.group(1)]
        return f'{match.group(0)} style="left:{left:.3f}px;top:{top:.3f}px;width:{width:.3f}px"'

    return _SLOT_ID.sub(place, html)


def render_pdf_on_static_layer(template_name, lines_template_name, context, pictures=None):
    """PDF bytes of `template_name` drawn as its cached static layer plus the document's own
    lines from `lines_template_name` and `pictures` ({`picture-…` id: rows of modules, True
    for black}); None when they do not fit (render the whole instead).

    Drawing the layer under the lines uses WeasyPrint's `Page.paint`, `Page._page_box`, its
    page stream's resources and `write_pdf(finisher=…)` (checked with 70.x); if a later
    version changes them, this logs the error and returns None, so documents are still
    rendered whole, only slower.
    """
    if _stylesheet(template_name) is None:
        return None  # the layers' rules (`.slot`) live in the template's own stylesheet
    try:
        with _render_lock:
            return _render_on_static_layer(
                template_name, lines_template_name, context, pictures or {}
            )
    except Exception:
        log.exception("Could not draw %s on its static layer; rendering it whole", template_name)
        return None


def _render_on_static_layer(template_name, lines_template_name, context, pictures):
    layer = _static_layer(template_name, context)
    if layer is None or set(pictures) != set(layer.pictures):
        return None
    slots = layer.slots
    html = render_to_string(lines_template_name, {"font_stack": FONT_STACK, **context})
    if set(_SLOT_ID.findall(html)) != set(slots):
        return None  # a slot the layer has no place for, or a place left empty
    document = _lean_html_class()(
        string=_placed(html, slots), base_url="data:,", url_fetcher=_url_fetcher()
    )
    rendered = document.render(stylesheets=[_stylesheet(template_name)], font_config=_font_config())
    if len(rendered.pages) != 1:
        return None
    page = rendered.pages[0]
    places = _slot_places(page._page_box)
    if set(places) != set(slots) or any(places[slot][3] > slots[slot][3] + 0.5 for slot in slots):
        return None  # a line is missing or taller than the space the layer left for it
    form = layer.form()
    draw_lines = page.paint

    def paint(stream, scale=1):
        # The page stream starts flipped to CSS's downward y axis; the layer's own content
        # stream makes the same flip, so it is drawn from PDF's default space (flip back).
        stream._resources["XObject"][_LAYER_NAME] = form
        stream.push_state()
        stream.transform(d=-1, f=page.height * scale)
        stream.draw_x_object(_LAYER_NAME)
        stream.pop_state()
        for number, (name, modules) in enumerate(sorted(pictures.items())):
            _draw_picture(stream, scale, f"Picture{number}", modules, layer.pictures[name])
        draw_lines(stream, scale)

    page.paint = paint
    return rendered.write_pdf(finisher=lambda _document, pdf: layer.copy_resources(form, pdf))


def _draw_picture(stream, scale, resource_name, modules, place):
    """Draw `modules` as a one-bit image filling `place` (CSS px on a page stream flipped to
    CSS's downward y axis), the way WeasyPrint draws a replaced box's raster image."""
    left, top, width, height = place
    stream._resources["XObject"][resource_name] = _one_bit_image(modules)
    stream.push_state()
    stream.transform(a=scale, d=scale)
    stream.transform(e=left, f=top)
    stream.transform(a=width, d=-height, f=height)
    stream.draw_x_object(resource_name)
    stream.pop_state()


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
