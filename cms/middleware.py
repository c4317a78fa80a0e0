"""Staff must have two-factor authentication before the Wagtail admin opens for them."""

from django.contrib import messages
from django.shortcuts import redirect
from django.urls import reverse

ADMIN_PREFIX = "/admin/"


def has_two_factor(user):
    from allauth.mfa.models import Authenticator

    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


def needs_two_factor(user):
    """Anyone who can reach the admin: staff flags, or a role group granting admin access.

    Role groups (Editor, Event manager, ...) give `wagtailadmin.access_admin` without
    `is_staff`, so the flag alone would let them in without a second factor.
    """
    return user.is_staff or user.is_superuser or user.has_perm("wagtailadmin.access_admin")


class StaffTwoFactorMiddleware:
    """Send a signed-in staff user without TOTP to the set-up page instead of the admin."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            request.path.startswith(ADMIN_PREFIX)
            and user is not None
            and user.is_authenticated
            and needs_two_factor(user)
            and not has_two_factor(user)
        ):
            messages.warning(
                request,
                "Staff accounts need two-factor authentication before the admin opens. Confirm "
                "your password if asked, set up an authenticator app, then open the admin again.",
            )
            return redirect(f"{reverse('mfa_activate_totp')}?next={request.path}")
        return self.get_response(request)
