"""Who may use each route, and the one guard for staff capability.

Staff capability = the permission for the action + a second factor completed *in this
session*. The second factor is read from allauth's authentication records in the session,
never from the mere existence of a device: an account that logged in before it set up an
authenticator has a device but did not use it. Roles are groups holding permissions; no code
matches a group by its name, so renaming a group in Settings changes nothing.

Every route declares its rule once, beside the view, with one of the decorators below
(`public`, `members`, `owner`, `staff`, `secret_link`, `signed_webhook`). Routes that other
apps mount (allauth, Wagtail) are declared in `MOUNTED_RULES` by the module of their view.
`tests/integration/test_route_matrix.py` walks the whole URLconf and holds every route to its
rule; a route without one fails that test.
"""

from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlencode

from allauth.account.authentication import get_authentication_records
from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _


class Perm:
    """The staff capabilities. Each is a Django permission that role groups hold."""

    CHECK_IN_ATTENDEES = "courses.check_in_attendees"
    MANAGE_REGISTRATIONS = "courses.manage_registrations"
    VIEW_FINANCE = "payments.view_finance"
    REFUND_ORDER = "payments.refund_order"
    ISSUE_CERTIFICATES = "certification.issue_certificates"
    MANAGE_CE_SETUP = "certification.manage_ce_setup"
    REVIEW_SUBMISSION = "trainers.review_submission"
    LEAD_CERTIFICATION = "trainers.lead_certification"
    ACCESS_ADMIN = "wagtailadmin.access_admin"


# -- the second factor ----------------------------------------------------------------------

_VERIFIED = "_second_factor_in_session"


def session_passed_second_factor(request, user):
    """True when this session's allauth records hold a second factor of a still-active device.

    Removing the authenticator (or its recovery codes) ends what it vouched for.
    """
    used = [
        record.get("id")
        for record in get_authentication_records(request, user)
        if record.get("method") == "mfa"
    ]
    return bool(used) and Authenticator.objects.filter(user=user, pk__in=used).exists()


def mark_second_factor(user, passed):
    """Carry the session's second-factor state on the user object that views and services get."""
    setattr(user, _VERIFIED, bool(passed))
    return user


def has_second_factor(user):
    return bool(getattr(user, _VERIFIED, False))


def holds(user, *permissions):
    """The user's roles grant any of the permissions; says nothing of the second factor."""
    if user is None or not user.is_authenticated or not user.is_active:
        return False
    return any(user.has_perm(permission) for permission in permissions)


def can(user, *permissions):
    """Staff capability: any of the permissions, in a session that completed a second factor."""
    return holds(user, *permissions) and has_second_factor(user)


class SecondFactorRequired(PermissionDenied):
    """The user holds the permission but this session has not completed a second factor.

    `cms.middleware.StaffAccessMiddleware` turns it into a redirect to the right step-up page
    and back; anywhere else it is a plain refusal.
    """


def require(user, *permissions):
    """Raise unless `can(user, *permissions)`; a missing second factor asks for one."""
    if can(user, *permissions):
        return
    if holds(user, *permissions):
        raise SecondFactorRequired(permissions)
    raise PermissionDenied


def may_act_for_others(user, *permissions):
    """For pages that belong to one person: may this staff user see someone else's?

    A permission holder whose session has no second factor is sent to complete it rather than
    told the page does not exist.
    """
    if can(user, *permissions):
        return True
    if holds(user, *permissions):
        raise SecondFactorRequired(permissions)
    return False


def users_with(permission, *, superusers=True):
    """Everyone who holds the permission through a group or directly (and superusers)."""
    app_label, codename = permission.split(".")
    granted = Permission.objects.filter(content_type__app_label=app_label, codename=codename)
    holders = Q(groups__permissions__in=granted) | Q(user_permissions__in=granted)
    if superusers:
        holders |= Q(is_superuser=True)
    return get_user_model().objects.filter(holders, is_active=True).distinct()


def _has_authenticator(user):
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


AFTER_SECOND_FACTOR_SESSION_KEY = "cms_after_second_factor"


def step_up(request):
    """Send the signed-in staff user to set up or use their authenticator, then back."""
    if _has_authenticator(request.user):
        target = "mfa_reauthenticate"
        messages.info(
            request,
            _("Staff pages need your authenticator code in this session. Enter it to go on."),
        )
    else:
        target = "mfa_activate_totp"
        # allauth's set-up ends on the recovery codes page and forgets `next`: that page
        # offers the way back from here (cms.templatetags.account_tags).
        request.session[AFTER_SECOND_FACTOR_SESSION_KEY] = request.get_full_path()
        messages.warning(
            request,
            _(
                "Staff accounts need two-factor authentication before staff pages open. "
                "Confirm your password if asked, set up an authenticator app, and you will be "
                "taken back to the page you asked for."
            ),
        )
    return redirect(f"{reverse(target)}?{urlencode({'next': request.get_full_path()}, safe='/')}")


# -- route declarations ---------------------------------------------------------------------


@dataclass(frozen=True)
class AccessRule:
    """Who may use a route.

    audience:
      public       anyone, signed in or not
      secret_link  anyone holding the unguessable link (claim and scan links)
      webhook      anyone, but only a correctly signed request acts
      member       any signed-in person, about themselves only
      owner        the person an object in the route belongs to; with `permissions`, also
                   staff holding one (with a second factor); everyone else gets 404
      staff        holders of one of `permissions` with a second factor in this session
      admin        the Wagtail admin: `wagtailadmin.access_admin` with a second factor, then
                   Wagtail's own per-model permissions (or `permissions`, for the project's
                   viewsets)
      closed       nobody: a screen a viewset has but its capability does not allow
    """

    audience: str
    permissions: tuple = ()
    api: bool = False


ACCESS_ATTRIBUTE = "access_rule"


def declare(view, rule):
    setattr(view, ACCESS_ATTRIBUTE, rule)
    return view


def rule_of(view):
    return getattr(view, ACCESS_ATTRIBUTE, None)


def public(view):
    """Anyone may use this route."""
    return declare(view, AccessRule("public"))


def secret_link(view):
    """Anyone with the unguessable token in the link (the view checks the token)."""
    return declare(view, AccessRule("secret_link"))


def signed_webhook(view):
    """Called by another service; the view verifies the signature before acting."""
    return declare(view, AccessRule("webhook"))


def members(view):
    """Signed-in people only, about their own account; others go to the login page."""
    return declare(login_required(view), AccessRule("member"))


def owner(*permissions, api=False):
    """Signed-in; the view shows the object only to its owner (and staff holding a permission).

    `api=True` for endpoints that programs call (tus uploads): they answer an anonymous request
    with their own 403 instead of a redirect to the login page.
    """

    def decorate(view):
        guarded = view if api else login_required(view)
        return declare(guarded, AccessRule("owner", permissions, api=api))

    return decorate


def staff(*permissions):
    """Holders of a permission whose session completed a second factor; others are refused."""

    def decorate(view):
        @wraps(view)
        @login_required
        def guarded(request, *args, **kwargs):
            require(request.user, *permissions)
            return view(request, *args, **kwargs)

        return declare(guarded, AccessRule("staff", permissions))

    return decorate


# Views that other apps mount, by the module their view function comes from (longest first).
MOUNTED_RULES = {
    "allauth.mfa": AccessRule("member"),
    "allauth.account": AccessRule("public"),
    "wagtail.documents.views.serve": AccessRule("public"),  # collection privacy applies
    "wagtail.contrib.sitemaps": AccessRule("public"),
    "wagtail.views": AccessRule("public"),  # page privacy applies
    "wagtail": AccessRule("admin", (Perm.ACCESS_ADMIN,)),
    "django.views.generic.base": AccessRule("admin", (Perm.ACCESS_ADMIN,)),  # admin/test404/
}


def rule_for_callback(callback):
    """The declared rule of a resolved view: its own, else the mounting app's, else None."""
    rule = rule_of(callback)
    if rule is not None:
        return rule
    module = getattr(callback, "__module__", "") or ""
    for prefix in sorted(MOUNTED_RULES, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return MOUNTED_RULES[prefix]
    return None
