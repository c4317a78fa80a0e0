"""An exact text layer for shaped scripts (Devanagari, Bengali, …) in WeasyPrint's PDFs.

A PDF maps each character code to the text it stands for (the font's ToUnicode map), one
entry per code for the whole document. WeasyPrint writes each glyph's id as its code, and
gives a glyph the text of the cluster it ends the first time it is drawn. A glyph that
serves several clusters then reads wrong everywhere else: in "प्रिया शर्मा" the vowel sign
"ा" ends the cluster "या" (text "ा") and sits inside "र्मा" (whose text goes on the reph),
so the text layer read "प्रिया शार्मा" (pdftotext: "श ार्मा") while the picture was right.

The fix keeps WeasyPrint's layout and glyphs and changes only the codes: before a line is
drawn, each cluster's text is put on its first glyph (where a reader's cursor meets it; the
last glyph, a reph above the syllable, made pdftotext read "श र्मा"), and a glyph whose text
there differs from the text its code already stands for is written with an alias code (a
CID past the font's glyphs and WeasyPrint's codes for missing characters). The font's
CIDToGIDMap draws the alias with the real glyph, and the ToUnicode map gives it this
cluster's text. The encoding stays Identity-H, which every reader (pypdf, poppler, pdf.js)
decodes. Right-to-left runs keep WeasyPrint's placement and get only the aliases.

It depends on three WeasyPrint internals (`draw.text.draw_first_line`, `pdf.fonts.Font.clean`
and `pdf.fonts._build_vector_font_dictionary`); `install()` checks the version and the drawing
function's shape and does nothing when they differ, and
tests/integration/test_board_certificates.py reads the names back, so an upgrade that breaks
this is noticed rather than printing wrong text.
"""

import inspect
import logging

log = logging.getLogger(__name__)

# The WeasyPrint versions this was written against and checked with.
SUPPORTED = ("70.",)
# WeasyPrint numbers codes for characters no font has from the glyph count up; aliases start
# past room for that many of them, and stop at the last two-byte code.
MISSING_ROOM = 4096
LAST_CODE = 0xFFFF

_installed = False
# The real glyphs drawn through aliases, by WeasyPrint's font key: the subset font must keep
# them although their own codes may never be drawn.
_aliased_glyphs = {}


def install():
    """Patch WeasyPrint once per process; True if the exact text layer is active."""
    global _installed
    if _installed:
        return True
    import weasyprint
    from weasyprint.draw import text as draw_text
    from weasyprint.pdf import fonts as pdf_fonts

    draw = draw_text.draw_first_line
    build = pdf_fonts._build_vector_font_dictionary
    clean = pdf_fonts.Font.clean
    if not weasyprint.__version__.startswith(SUPPORTED) or list(
        inspect.signature(draw).parameters
    ) != ["stream", "textbox", "text_overflow", "block_ellipsis", "matrix"]:
        log.warning(
            "WeasyPrint %s is not one the exact PDF text layer was checked with; "
            "shaped scripts may read back wrong in search and copy.",
            weasyprint.__version__,
        )
        return False

    def draw_first_line(stream, textbox, text_overflow, block_ellipsis, matrix):
        try:
            _alias_shared_glyphs(stream, textbox)
        except Exception:  # never lose a document over its text layer
            log.exception("Could not prepare the exact text layer of a line")
        return draw(stream, textbox, text_overflow, block_ellipsis, matrix)

    def build_vector_font_dictionary(font_dictionary, pdf, font, *args, **kwargs):
        build(font_dictionary, pdf, font, *args, **kwargs)
        if getattr(font, "exact_text_aliases", None):
            _write_cid_to_gid_map(font_dictionary, pdf, font, compress=args[1] if args else True)

    def clean_font(font, to_unicode, hinting):
        kept = _aliased_glyphs.get(font.hash)
        if kept and to_unicode:
            to_unicode = {**dict.fromkeys(kept, ""), **to_unicode}
        return clean(font, to_unicode, hinting)

    draw_text.draw_first_line = draw_first_line
    pdf_fonts._build_vector_font_dictionary = build_vector_font_dictionary
    pdf_fonts.Font.clean = clean_font
    _installed = True
    return True


def _alias_shared_glyphs(stream, textbox):
    """Give each glyph occurrence a code that stands for exactly its part of the text."""
    text = textbox.text
    if text.isascii() or not text.strip() or textbox.style["font_size"] < 1e-6:
        # ASCII is drawn one glyph per cluster (a ligature is one glyph for its letters), so
        # WeasyPrint's own codes are right: most lines of a certificate cost nothing here.
        return
    from weasyprint.text.ffi import FROM_UNITS, ffi, pango

    layout = textbox.pango_layout
    # What draw_first_line sets first; setting it here keeps the same line objects.
    pango.pango_layout_set_single_paragraph_mode(layout.layout, True)
    first_line, _index = layout.get_first_line()
    utf8 = layout.text.encode()
    run = first_line.runs[0]
    while run != ffi.NULL:
        glyph_item = run.data
        run = run.next
        font, font_size = stream.add_font(glyph_item.item.analysis.font)
        if font.bitmap or font.png or font.svg or getattr(font, "colr", False):
            continue
        glyphs = glyph_item.glyphs
        count = glyphs.num_glyphs
        clusters = glyphs.log_clusters
        if len(set(ffi.unpack(clusters, count))) == count:
            continue  # one glyph per cluster (most text): WeasyPrint's own codes are right
        rtl = glyph_item.item.analysis.level % 2
        start, length = glyph_item.item.offset, glyph_item.item.length
        i = 0
        while i < count:
            j = i + 1
            while j < count and clusters[j] == clusters[i]:
                j += 1
            # Glyphs i to j - 1 draw one cluster (clusters run backwards right to left).
            if rtl:
                end = length if i == 0 else clusters[i - 1]
            else:
                end = clusters[j] if j < count else length
            text = utf8[start + clusters[i] : start + end].decode()
            advance = sum(glyphs.glyphs[k].geometry.width for k in range(i, j))
            for k in range(i, j):
                info = glyphs.glyphs[k]
                ok = _code_for(
                    font,
                    info,
                    text if k == i else "",
                    (advance if k == i else info.geometry.width) * 1000 * FROM_UNITS / font_size,
                    single=j == i + 1,
                )
                if not ok:
                    return
            i = j


def _code_for(font, info, text, width, *, single):
    """Write this glyph with a code standing for `text`: its own, or an alias.

    An alias's width (thousandths of an em) is the whole cluster's advance on the glyph that
    carries the text, and the glyph's own advance on the others, so a reader finds no gap
    inside a syllable (pdftotext reads one as a space) and the pen never jumps right between
    glyphs (pypdf reads that as a space). WeasyPrint positions every glyph from these widths
    and its own advances, so the picture does not move. False when no codes are left."""
    from weasyprint.text.ffi import pango

    glyph = info.glyph
    if glyph == pango.PANGO_GLYPH_EMPTY or glyph & pango.PANGO_GLYPH_UNKNOWN_FLAG:
        return True
    known = font.to_unicode.get(glyph)
    if single and known in (None, text):
        # The glyph's own text. Claimed now, before a later cluster on this line could
        # (the whole line is prepared before any of it is drawn).
        font.to_unicode[glyph] = text
        return True
    alias = _alias(font, glyph, text)
    if alias is None:
        return False
    if alias not in font.widths:
        font.widths[alias] = round(width)
        font.to_unicode[alias] = text
        _aliased_glyphs.setdefault(font.hash, set()).add(glyph)
    info.glyph = alias
    return True


def _alias(font, glyph, text):
    """The alias code for `glyph` standing for `text` in `font`, made once."""
    aliases = font.__dict__.setdefault("exact_text_aliases", {})
    codes = font.__dict__.setdefault("exact_text_codes", {})
    key = (glyph, text)
    if key not in codes:
        alias = font.glyph_count + MISSING_ROOM + len(aliases)
        if alias > LAST_CODE or len(font.missing) >= MISSING_ROOM:
            return None  # no codes left (a font with nearly 65,536 glyphs, e.g. CJK)
        aliases[alias] = key
        codes[key] = alias
    return codes[key]


def _write_cid_to_gid_map(font_dictionary, pdf, font, *, compress):
    """Draw each alias with its real glyph: the descendant font's CIDToGIDMap becomes a
    table (two bytes per code) instead of /Identity; codes WeasyPrint gave characters no
    font has still draw .notdef."""
    import pydyf

    aliases = font.exact_text_aliases
    table = bytearray(2 * (max(aliases) + 1))
    for cid in range(min(font.glyph_count, max(aliases) + 1)):
        table[2 * cid : 2 * cid + 2] = cid.to_bytes(2, "big")
    for alias, (glyph, _text) in aliases.items():
        table[2 * alias : 2 * alias + 2] = glyph.to_bytes(2, "big")
    stream = pydyf.Stream([bytes(table)], compress=compress)
    pdf.add_object(stream)
    (reference,) = font_dictionary["DescendantFonts"]
    number = int(reference.split()[0])
    pdf.objects[number]["CIDToGIDMap"] = stream.reference
