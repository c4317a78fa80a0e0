"""Forms for attendees (licenses, evaluation) and CE administrators (reissue, revoke)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from cms.untrusted_input import ModelMultipleIdChoiceField
from courses.license_formats import jurisdiction_name, normalise_license_number

from .models import License, QuestionKind
from .models.evaluations import OBJECTIVE_CHOICES, RATING_CHOICES


class LicenseForm(forms.ModelForm):
    class Meta:
        model = License
        fields = ["profession", "jurisdiction", "number", "expires_on"]
        labels = {"number": _("License number"), "expires_on": _("Expiry date")}
        widgets = {"expires_on": forms.DateInput(attrs={"type": "date"})}
        help_texts = {"number": _("Exactly as on your license, e.g. SW12345 or MH9876.")}

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_number(self):
        # Boards print numbers in capitals without spaces: "sw 1234" is SW1234.
        return normalise_license_number(self.cleaned_data["number"])

    def clean(self):
        cleaned = super().clean()
        number, jurisdiction = cleaned.get("number"), cleaned.get("jurisdiction")
        if number and jurisdiction:
            duplicate = [
                other
                for other in License.objects.filter(
                    user=self.user, jurisdiction__iexact=jurisdiction.strip()
                ).exclude(pk=self.instance.pk)
                if normalise_license_number(other.number) == number
            ]
            if duplicate:
                raise forms.ValidationError(_("You have already added this license."))
        return cleaned


def license_label(license_):
    """A license as people read it: "LCSW, Florida #SW1234" (not the stored code "FL")."""
    place = jurisdiction_name(license_.jurisdiction)
    if license_.profession:
        return f"{license_.profession}, {place} #{license_.number}"
    return f"{place} #{license_.number}"


class RegistrationLicensesForm(forms.Form):
    licenses = ModelMultipleIdChoiceField(
        queryset=License.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label=_("Which of your licenses is this CE for?"),
    )

    def __init__(self, *args, user, registration=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.registration = registration
        self.fields["licenses"].queryset = License.objects.filter(user=user)
        self.fields["licenses"].label_from_instance = license_label

    @property
    def typed_license_chosen(self):
        """The license typed at registration is on the profile and chosen for this CE."""
        registration = self.registration
        if registration is None or not registration.license_number:
            return False
        typed = normalise_license_number(registration.license_number)
        place = registration.license_jurisdiction.strip().casefold()
        return any(
            normalise_license_number(license_.number) == typed
            and license_.jurisdiction.strip().casefold() == place
            for license_ in self.initial.get("licenses", ())
        )


class EvaluationForm(forms.Form):
    """One field per question the staff set for the event."""

    def __init__(self, *args, questions, **kwargs):
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        for question in self.questions:
            name = f"q{question.pk}"
            if question.kind == QuestionKind.RATING:
                field = forms.TypedChoiceField(
                    choices=RATING_CHOICES,
                    coerce=int,
                    widget=forms.RadioSelect,
                    help_text=_("1 = poor, 5 = excellent"),
                )
            elif question.kind == QuestionKind.OBJECTIVE:
                field = forms.ChoiceField(choices=OBJECTIVE_CHOICES, widget=forms.RadioSelect)
            else:
                field = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), max_length=5000)
            field.label = question.prompt
            field.required = question.required
            self.fields[name] = field

    def answers(self):
        return {q.pk: self.cleaned_data.get(f"q{q.pk}") for q in self.questions}


class ReissueForm(forms.Form):
    note = forms.CharField(
        label=_("What is corrected?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_(
            "Kept with both certificates, e.g. “Legal name corrected at the attendee's request.”"
        ),
    )


class RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason for revoking"), widget=forms.Textarea(attrs={"rows": 3})
    )
