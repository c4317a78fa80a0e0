"""CE approvals for templates outside the certification app (the event page, the
registration summary): they load these tags, so `courses` never imports `certification`."""

from django import template

from certification import queries

register = template.Library()


@register.simple_tag
def ce_offer(event, add_ons=None):
    """The event's approvals (body order) and CE fees: `{% ce_offer page data.add_ons as ce %}`.

    Two queries at most (one when the caller passes the add-ons it has already read)."""
    return queries.ce_offer(event, add_ons)


@register.inclusion_tag("certification/includes/ce_approvals.html")
def ce_approvals(offer, heading_level=3):
    """Each body's approval statement, numbers, hours in its unit and attendance policy."""
    return {"approvals": offer.approvals, "fees": offer.fees, "heading_level": heading_level}
