"""Pictures for the demo, drawn here with Pillow (no stock photos, nothing to license).

Each is a calm abstract composition in the site's colours: overlapping soft circles on a
gradient, different per subject. They are stored once as Wagtail images, titled "Demo: …"
and described for people who cannot see them, and reused on every later `load_demo`.
"""

import io
import random

from django.core.files.images import ImageFile
from PIL import Image as PILImage
from PIL import ImageDraw, ImageFilter
from wagtail.images.models import Image

SIZE = (1600, 900)

# (background top, background bottom, circle colours) per picture.
PALETTES = {
    "conference": ((29, 78, 137), (20, 132, 138), [(255, 255, 255), (246, 196, 83)]),
    "supervision": ((38, 70, 83), (42, 157, 143), [(233, 196, 106), (255, 255, 255)]),
    "webinar": ((61, 64, 91), (129, 178, 154), [(242, 204, 143), (224, 122, 95)]),
    "article": ((17, 83, 112), (114, 9, 183), [(255, 255, 255), (76, 201, 240)]),
}


def _draw(palette_name, seed):
    top, bottom, colours = PALETTES[palette_name]
    width, height = SIZE
    gradient = PILImage.new("RGB", (1, height))
    for y in range(height):
        share = y / (height - 1)
        gradient.putpixel(
            (0, y), tuple(round(a + (b - a) * share) for a, b in zip(top, bottom, strict=True))
        )
    picture = gradient.resize(SIZE)
    overlay = PILImage.new("RGBA", SIZE, (0, 0, 0, 0))
    draw = ImageDraw.Draw(overlay)
    rng = random.Random(seed)  # noqa: S311 - a drawing, not a secret
    for _ in range(14):
        radius = rng.randint(60, 320)
        x, y = rng.randint(0, width), rng.randint(0, height)
        colour = rng.choice(colours)
        draw.ellipse(
            (x - radius, y - radius, x + radius, y + radius),
            fill=(*colour, rng.randint(28, 70)),
        )
    overlay = overlay.filter(ImageFilter.GaussianBlur(6))
    picture = PILImage.alpha_composite(picture.convert("RGBA"), overlay).convert("RGB")
    buffer = io.BytesIO()
    picture.save(buffer, format="JPEG", quality=85)
    return buffer.getvalue()


def demo_image(key, *, title, description, stdout=None):
    """The demo picture `key` (a PALETTES name), created the first time it is asked for."""
    full_title = f"Demo: {title}"
    image = Image.objects.filter(title=full_title).first()
    if image is None:
        content = _draw(key, seed=full_title)
        image = Image(title=full_title, description=description)
        image.file = ImageFile(io.BytesIO(content), name=f"demo-{key}.jpg")
        image.save()
        if stdout is not None:
            stdout.write(f"  drew the picture “{full_title}”")
    elif not image.description:
        image.description = description
        image.save(update_fields=["description"])
    return image
