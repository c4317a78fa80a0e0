"""Staff access: the second factor travels with the user, and the admin asks for it."""

from django.utils.functional import SimpleLazyObject, empty

from cms.access import (
    Perm,
    SecondFactorRequired,
    has_second_factor,
    holds,
    mark_second_factor,
    session_passed_second_factor,
    step_up,
)

ADMIN_PREFIX = "/admin/"


def needs_two_factor(user):
    """Anyone who can reach the admin: staff flags, or a role granting admin access.

    Role groups (Editor, Event manager, ...) give `wagtailadmin.access_admin` without
    `is_staff`, so the flag alone would let them in without a second factor.
    """
    return user.is_staff or user.is_superuser or holds(user, Perm.ACCESS_ADMIN)


class StaffAccessMiddleware:
    """Carry this session's second factor on `request.user`, and enforce it for staff.

    - Every request's user is marked with whether this session completed a second factor
      (allauth's authentication records), lazily, so that pages which never look at the user
      pay nothing. `cms.access.can` reads the mark in views and services alike.
    - Anyone who may reach the Wagtail admin is sent to set up or enter their authenticator
      before any admin screen opens.
    - A `SecondFactorRequired` raised by a view or service becomes the same step-up redirect,
      coming back to the page afterwards.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        authenticated = request.user
        request.user = SimpleLazyObject(lambda: self._marked(request, authenticated))
        if request.path.startswith(ADMIN_PREFIX) and self._must_step_up(request.user):
            return step_up(request)
        return self.get_response(request)

    @staticmethod
    def _marked(request, user):
        if isinstance(user, SimpleLazyObject):
            if user._wrapped is empty:
                user._setup()
            user = user._wrapped
        if user.is_authenticated:
            return mark_second_factor(user, session_passed_second_factor(request, user))
        return user

    @staticmethod
    def _must_step_up(user):
        return user.is_authenticated and needs_two_factor(user) and not has_second_factor(user)

    def process_exception(self, request, exception):
        if isinstance(exception, SecondFactorRequired) and request.user.is_authenticated:
            return step_up(request)
        return None
