"""The account pages allauth does not provide: the profile and closing the account."""

from urllib.parse import urlencode

from allauth.core import ratelimit
from django.contrib import messages
from django.contrib.auth import logout
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from cms import account_services
from cms.access import members, public
from cms.forms import CloseAccountForm, ProfileForm


@members
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        account_services.update_profile(request.user, form.cleaned_data, actor=request.user)
        messages.success(request, _("Your profile has been saved."))
        return redirect("account_profile")
    # A failed save must not show the unsaved name in the header: reload the stored values.
    request.user.refresh_from_db()
    return render(request, "cms/account/profile.html", {"form": form})


@members
def delete_account(request):
    user = request.user
    if user.is_staff or user.is_superuser:
        # A staff account holds roles and admin access; an administrator closes it so that
        # nobody locks the organisation out of its own site by accident.
        return render(request, "cms/account/delete_staff.html", status=403)
    if request.method == "POST":
        # The password check must not become a way to guess the password of an open session.
        too_many = ratelimit.consume_or_429(request, action="reauthenticate", user=user)
        if too_many:
            return too_many
    form = CloseAccountForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        account_services.close_account(user, actor=user)
        logout(request)
        messages.success(
            request,
            _(
                "Your account has been closed and your personal details removed. "
                "Records of past courses and certificates are kept for audits."
            ),
        )
        return redirect("/")
    return render(request, "cms/account/delete.html", {"form": form})


@public
def login_redirect(request):
    """Every login form goes through allauth, where rate limits and the two-factor step apply.

    Mounted over Wagtail's admin login and its front-end `/_util/login/` (Django's plain
    `LoginView`, which would accept a staff member's password alone). A `next` on this site is
    kept; any other is dropped.
    """
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    if not next_url:
        next_url = reverse("wagtailadmin_home") if request.path.startswith("/admin/") else "/"
    return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")


urlpatterns = [
    path("profile/", profile, name="account_profile"),
    path("delete/", delete_account, name="account_delete"),
]
