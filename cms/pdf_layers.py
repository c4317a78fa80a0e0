"""A page drawn as a static layer, laid out once, plus one document's own lines: how a CE
certificate is rendered in a fraction of a whole render (cms.pdf renders whole documents)."""

import io
import logging
import re
import zlib

from django.template.loader import render_to_string

from .pdf import (
    FONT_STACK,
    _font_config,
    _lean_html_class,
    _packed_row,
    _render_lock,
    _stylesheet,
    _url_fetcher,
    sha256_hex,
)

log = logging.getLogger(__name__)

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
        self.resources = _copy_plan(page["/Resources"].get_object(), {})

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
        form.extra["Resources"] = _materialized(self.resources, pdf, {})


# The layer's resources are copied into every document: the parts that refer to no other
# object (a font's widths, its descriptor's numbers) are written out as PDF bytes once, when
# the layer is made; each document then only numbers the layer's objects as its own.


class _Indirect:
    """An indirect object of the layer: added to each document once, then referred to."""

    def __init__(self, number, value):
        self.number, self.value = number, value


class _StreamPlan:
    """A stream of the layer: its dictionary, and its bytes as encoded (fonts and images are
    not decoded or compressed again)."""

    def __init__(self, extra, data):
        self.extra, self.data = extra, data


def _copy_plan(value, seen, indirect=False):
    """`value` (read by pypdf) ready to be copied into documents (`seen`: the layer's indirect
    objects already planned, by number). An indirect object's own dictionary or array stays
    one (the document numbers it); what it holds may be written out."""
    import pydyf
    from pypdf import generic

    if isinstance(value, generic.IndirectObject):
        if value.idnum not in seen:
            plan = _copy_plan(value.get_object(), seen, indirect=True)
            seen[value.idnum] = _Indirect(value.idnum, plan)
        return seen[value.idnum]
    if isinstance(value, generic.StreamObject):
        extra = {k[1:]: _copy_plan(item, seen) for k, item in value.items() if k != "/Length"}
        return _StreamPlan(extra, value._data)  # _data: the stream's encoded bytes
    if isinstance(value, generic.DictionaryObject):
        items = {key[1:]: _copy_plan(item, seen) for key, item in value.items()}
        kept = indirect or any(map(_refers, items.values()))
        return items if kept else pydyf.Dictionary(items).data
    if isinstance(value, generic.ArrayObject):
        items = [_copy_plan(item, seen) for item in value]
        return items if indirect or any(map(_refers, items)) else pydyf.Array(items).data
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


def _refers(plan):
    return isinstance(plan, (_Indirect, _StreamPlan, dict, list))


def _materialized(plan, pdf, added):
    """`plan` as pydyf objects of `pdf`; the layer's indirect objects are added to `pdf` once
    each (`added`: their numbers in the layer -> references in `pdf`)."""
    import pydyf

    if isinstance(plan, _Indirect):
        if plan.number not in added:
            target = _materialized(plan.value, pdf, added)
            pdf.add_object(target)
            added[plan.number] = target.reference
        return added[plan.number]
    if isinstance(plan, _StreamPlan):
        extra = {key: _materialized(item, pdf, added) for key, item in plan.extra.items()}
        return pydyf.Stream([plan.data], extra=extra)
    if isinstance(plan, dict):
        return pydyf.Dictionary({k: _materialized(item, pdf, added) for k, item in plan.items()})
    if isinstance(plan, list):
        return pydyf.Array([_materialized(item, pdf, added) for item in plan])
    return plan


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
