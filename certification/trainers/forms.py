from django import forms
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Decision, Review


class ConsentForm(forms.Form):
    consent = forms.BooleanField(
        required=True,
        label=_(
            "Everyone recognisable in this video agreed to its use for certification, "
            "or is role-playing."
        ),
        error_messages={
            "required": _("Please confirm consent before uploading: tick the box to go on.")
        },
    )


def parse_timestamp(value):
    """'75', '1:15' or '1:02:03' -> seconds; None if it is not a time."""
    value = (value or "").strip()
    if not value:
        return None
    try:
        parts = [float(p) for p in value.split(":")]
    except ValueError:
        return None
    if len(parts) > 3 or any(p < 0 for p in parts):
        return None
    seconds = 0.0
    for part in parts:
        seconds = seconds * 60 + part
    return seconds


class CommentForm(forms.Form):
    at = forms.CharField(
        label=_("Time in the video (m:ss)"),
        max_length=12,
        help_text=_("Filled in from the player when you pause; you can also type it."),
    )
    body = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}))

    def clean_at(self):
        seconds = parse_timestamp(self.cleaned_data["at"])
        if seconds is None:
            raise forms.ValidationError(_("Write the time as minutes:seconds, for example 2:05."))
        return seconds


class ReviewForm(forms.Form):
    """One radio group per rubric criterion, plus the recommendation."""

    recommendation = forms.ChoiceField(
        choices=Review.Recommendation.choices, widget=forms.RadioSelect, label=_("Recommendation")
    )
    guidance = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("Guidance for the candidate"),
        help_text=_("Required when you do not recommend approval."),
    )

    def __init__(self, *args, rubric, review=None, **kwargs):
        super().__init__(*args, **kwargs)
        chosen = {}
        if review is not None:
            chosen = {s.criterion_id: s.level_id for s in review.scores.all()}
            self.initial.setdefault("recommendation", review.recommendation)
            self.initial.setdefault("guidance", review.guidance)
        self.criteria = list(rubric.criteria.prefetch_related("levels"))
        for criterion in self.criteria:
            label = (
                _("%(criterion)s (required)") % {"criterion": criterion.title}
                if criterion.required
                else criterion.title
            )
            self.fields[f"criterion_{criterion.pk}"] = forms.ChoiceField(
                label=label,
                help_text=criterion.description,
                choices=[
                    (
                        lvl.pk,
                        ngettext(
                            "%(level)s – %(points)s point",
                            "%(level)s – %(points)s points",
                            lvl.points,
                        )
                        % {"level": lvl.label, "points": lvl.points},
                    )
                    for lvl in criterion.levels.all()
                ],
                widget=forms.RadioSelect,
                initial=chosen.get(criterion.pk),
                error_messages={
                    "required": _("Choose a level for “%(criterion)s”.")
                    % {"criterion": criterion.title}
                },
            )

    def criterion_fields(self):
        return [self[f"criterion_{c.pk}"] for c in self.criteria]

    def scores(self):
        return {c.pk: self.cleaned_data[f"criterion_{c.pk}"] for c in self.criteria}


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=Decision.Outcome.choices, widget=forms.RadioSelect, label=_("Decision")
    )
    guidance = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label=_("Guidance for the candidate"),
        help_text=_("Required for a resubmission request or a rejection."),
    )


def reviewer_label(user):
    """ "Preferred (Legal Name)" when the two differ, so the lead can tell people apart."""
    legal = (user.legal_name or "").strip()
    preferred = (user.preferred_name or "").strip()
    if preferred and legal and preferred != legal:
        return f"{preferred} ({legal})"
    return preferred or legal or user.email


class ReviewerChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return reviewer_label(obj)


class AssignReviewerForm(forms.Form):
    reviewer = ReviewerChoiceField(queryset=None, label=_("Reviewer"))

    def __init__(self, *args, reviewers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = reviewers.order_by("legal_name", "email")


class EvidenceForm(forms.Form):
    statement = forms.CharField(
        label=_("Your evidence"),
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Describe what you did and what it shows (at least 50 characters)."),
    )


class ListingForm(forms.Form):
    listed = forms.BooleanField(required=False, label=_("List me in the public trainer directory"))
    display_name = forms.CharField(max_length=200, label=_("Name shown in the directory"))
    place = forms.CharField(max_length=200, required=False, label=_("Place (city and country)"))
