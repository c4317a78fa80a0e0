from django import forms

from cms.models import User


class ProfileSignupForm(forms.Form):
    """Extra sign-up fields: the name as certificates must print it, and how we greet you."""

    legal_name = forms.CharField(
        label="Legal name",
        max_length=200,
        help_text="Your full name exactly as it should appear on certificates, in any script.",
    )
    preferred_name = forms.CharField(
        label="Preferred name (optional)",
        max_length=100,
        required=False,
        help_text="What we call you in emails and on the site.",
    )
    profession = forms.CharField(
        label="Profession (optional)",
        max_length=120,
        required=False,
        help_text="For example: psychologist, licensed clinical social worker, counselor.",
    )

    field_order = ["legal_name", "preferred_name", "email", "password1", "password2", "profession"]

    def clean_legal_name(self):
        name = self.cleaned_data["legal_name"].strip()
        if not name:
            raise forms.ValidationError(
                "Enter your legal name as it should appear on certificates."
            )
        return name

    def signup(self, request, user):
        user.legal_name = self.cleaned_data["legal_name"]
        user.preferred_name = self.cleaned_data.get("preferred_name", "").strip()
        user.profession = self.cleaned_data.get("profession", "").strip()
        user.save(update_fields=["legal_name", "preferred_name", "profession"])


class ProfileForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["legal_name", "preferred_name", "profession", "credentials"]
