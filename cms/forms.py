"""Forms for the account pages: sign-up's extra fields, the profile and closing an account."""

from django import forms
from django.utils.translation import gettext_lazy as _

from cms.models import User

LEGAL_NAME_REQUIRED = _("Enter your legal name as it should appear on certificates.")


class ProfileSignupForm(forms.Form):
    """Extra sign-up fields: the name as certificates must print it, and how we greet you."""

    legal_name = forms.CharField(
        label=_("Legal name"),
        max_length=200,
        help_text=_("Your full name exactly as it should appear on certificates, in any script."),
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
        error_messages={"required": LEGAL_NAME_REQUIRED},
    )
    preferred_name = forms.CharField(
        label=_("Preferred name (optional)"),
        max_length=100,
        required=False,
        help_text=_("What we call you in emails and on the site."),
        widget=forms.TextInput(attrs={"autocomplete": "nickname"}),
    )
    profession = forms.CharField(
        label=_("Profession (optional)"),
        max_length=120,
        required=False,
        help_text=_("For example: psychologist, licensed clinical social worker, counselor."),
        widget=forms.TextInput(attrs={"autocomplete": "organization-title"}),
    )

    field_order = ["legal_name", "preferred_name", "profession", "email", "password1", "password2"]

    def signup(self, request, user):
        # Django's CharField has already stripped surrounding spaces; the rest is kept exactly.
        user.legal_name = self.cleaned_data["legal_name"]
        user.preferred_name = self.cleaned_data.get("preferred_name", "").strip()
        user.profession = self.cleaned_data.get("profession", "").strip()
        user.save(update_fields=["legal_name", "preferred_name", "profession"])


class ProfileForm(forms.ModelForm):
    """The names and professional details a person keeps up to date themselves."""

    class Meta:
        model = User
        fields = ["legal_name", "preferred_name", "profession", "credentials"]
        labels = {
            "legal_name": _("Legal name"),
            "preferred_name": _("Preferred name (optional)"),
            "profession": _("Profession (optional)"),
            "credentials": _("Credentials (optional)"),
        }
        help_texts = {
            "legal_name": _(
                "Your full name exactly as it should appear on certificates, in any script."
            ),
        }
        error_messages = {"legal_name": {"required": LEGAL_NAME_REQUIRED}}

    def clean(self):
        cleaned = super().clean()
        for field in ("preferred_name", "profession", "credentials"):
            if field in cleaned:
                cleaned[field] = cleaned[field].strip()
        return cleaned


class CloseAccountForm(forms.Form):
    """Closing an account cannot be undone, so it takes the password and an explicit tick."""

    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
        help_text=_("Type your current password to confirm it is you."),
    )
    confirm = forms.BooleanField(
        label=_("I understand that I will no longer be able to log in to this account."),
        error_messages={
            "required": _("Tick the box to confirm that you want to close the account.")
        },
    )

    def __init__(self, *args, user, **kwargs):
        self.user = user
        super().__init__(*args, **kwargs)

    def clean_password(self):
        password = self.cleaned_data["password"]
        if not self.user.check_password(password):
            raise forms.ValidationError(
                _(
                    "That password is not correct. Type your current password, or reset it "
                    "from the log-in page if you have forgotten it."
                )
            )
        return password
