"""`{% after_second_factor as url %}`: where a staff member was going when they were asked to
set up their authenticator (remembered by `cms.access.step_up`), for the recovery codes page
that allauth's set-up ends on."""

from django import template
from django.utils.http import url_has_allowed_host_and_scheme

from cms.access import AFTER_SECOND_FACTOR_SESSION_KEY

register = template.Library()


@register.simple_tag(takes_context=True)
def after_second_factor(context):
    request = context.get("request")
    if request is None:
        return ""
    url = request.session.get(AFTER_SECOND_FACTOR_SESSION_KEY, "")
    if not url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}):
        return ""
    return url
