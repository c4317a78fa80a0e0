"""The account pages allauth does not provide: the profile and closing the account."""

from urllib.parse import urlencode

from allauth.core import ratelimit
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import url_has_allowed_host_and_scheme

from cms import account_services
from cms.forms import CloseAccountForm, ProfileForm


@login_required
def profile(request):
    form = ProfileForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        account_services.update_profile(request.user, form.cleaned_data, actor=request.user)
        messages.success(request, "Your profile has been saved.")
        return redirect("account_profile")
    # A failed save must not show the unsaved name in the header: reload the stored values.
    request.user.refresh_from_db()
    return render(request, "cms/account/profile.html", {"form": form})


@login_required
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
            "Your account has been closed and your personal details removed. "
            "Records of past courses and certificates are kept for audits.",
        )
        return redirect("/")
    return render(request, "cms/account/delete.html", {"form": form})


def admin_login(request):
    """The Wagtail admin signs in through allauth, where rate limits and two-factor apply."""
    next_url = request.GET.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = ""
    query = urlencode({"next": next_url or reverse("wagtailadmin_home")})
    return redirect(f"{reverse('account_login')}?{query}")


urlpatterns = [
    path("profile/", profile, name="account_profile"),
    path("delete/", delete_account, name="account_delete"),
]
