"""Floors for documents: the least a PDF of one page costs, written here from scratch.

Nothing here calls `cms.pdf`, a project template or a project model: a floor built from the
code it is compared with would share that code's costs and prove nothing.
"""

from weasyprint import HTML
from weasyprint.text.fonts import FontConfiguration

# The same fonts the site's documents ask for (written out here, not imported), so the floor
# pays the same font lookup, shaping and subsetting as a certificate printed in Latin letters.
FONT_FAMILIES = (
    '"Noto Sans", "Noto Sans CJK SC", "Noto Sans Arabic", "Noto Sans Devanagari", '
    '"Noto Sans Hebrew", "Noto Sans Thai", "DejaVu Sans", sans-serif'
)

SIMPLE_PAGE = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Letter</title>
<style>
  @page {{ size: letter landscape; margin: 0.5in; }}
  body {{ font-family: {FONT_FAMILIES}; font-size: 10pt; }}
  h1 {{ font-size: 20pt; text-align: center; }}
</style></head>
<body>
<h1>Letter of Attendance</h1>
<p>Dear colleague, this letter confirms that you took part in the spring workshop on
counselling practice, held over two days at the conference centre.</p>
<p>The programme covered the research on therapeutic alliance, routine outcome monitoring,
and the use of client feedback to adjust the course of treatment.</p>
<p>Please keep this letter with your professional records. Should you have any question
about the programme, write to the organisers at the address printed below.</p>
<p>With kind regards, the programme team.</p>
</body></html>
"""


class SimplePage:
    """A one-page letter in Latin text: a heading and four short paragraphs, no table, no
    image, no database. It owns its font configuration, created once and reused the way the
    site's renderer reuses its own, so neither side pays font loading per document."""

    def __init__(self):
        self.font_config = FontConfiguration()

    def render(self):
        return HTML(string=SIMPLE_PAGE).write_pdf(font_config=self.font_config)
