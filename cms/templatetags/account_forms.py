"""Form rendering for the account pages: inputs point at their help text and errors."""

from django import template

register = template.Library()


@register.simple_tag
def accessible_widget(field):
    """Render the input with aria-describedby naming its help text and errors, if any.

    Django links help text on its own but not error messages; a screen reader user who lands
    on an invalid field must hear why it is invalid.
    """
    described_by = []
    if field.help_text:
        described_by.append(f"{field.auto_id}_helptext")
    if field.errors:
        described_by.append(f"{field.auto_id}_errors")
    attrs = {}
    if described_by:
        attrs["aria-describedby"] = " ".join(described_by)
    if field.errors:
        attrs["aria-invalid"] = "true"
    return field.as_widget(attrs=attrs)
