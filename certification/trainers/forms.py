from django import forms

from .models import Decision, Review


class ConsentForm(forms.Form):
    consent = forms.BooleanField(
        required=True,
        label="Everyone recognisable in this video agreed to its use for certification, "
        "or is role-playing.",
        error_messages={
            "required": "Please confirm consent before uploading: tick the box to go on."
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
        label="Time in the video (m:ss)",
        max_length=12,
        help_text="Filled in from the player when you pause; you can also type it.",
    )
    body = forms.CharField(label="Comment", widget=forms.Textarea(attrs={"rows": 3}))

    def clean_at(self):
        seconds = parse_timestamp(self.cleaned_data["at"])
        if seconds is None:
            raise forms.ValidationError("Write the time as minutes:seconds, for example 2:05.")
        return seconds


class ReviewForm(forms.Form):
    """One radio group per rubric criterion, plus the recommendation."""

    recommendation = forms.ChoiceField(
        choices=Review.Recommendation.choices, widget=forms.RadioSelect, label="Recommendation"
    )
    guidance = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Guidance for the candidate",
        help_text="Required when you do not recommend approval.",
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
            label = criterion.title + (" (required)" if criterion.required else "")
            self.fields[f"criterion_{criterion.pk}"] = forms.ChoiceField(
                label=label,
                help_text=criterion.description,
                choices=[
                    (lvl.pk, f"{lvl.label} – {lvl.points} point{'' if lvl.points == 1 else 's'}")
                    for lvl in criterion.levels.all()
                ],
                widget=forms.RadioSelect,
                initial=chosen.get(criterion.pk),
                error_messages={"required": f"Choose a level for “{criterion.title}”."},
            )

    def criterion_fields(self):
        return [self[f"criterion_{c.pk}"] for c in self.criteria]

    def scores(self):
        return {c.pk: self.cleaned_data[f"criterion_{c.pk}"] for c in self.criteria}


class DecisionForm(forms.Form):
    outcome = forms.ChoiceField(
        choices=Decision.Outcome.choices, widget=forms.RadioSelect, label="Decision"
    )
    guidance = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Guidance for the candidate",
        help_text="Required for a resubmission request or a rejection.",
    )


class AssignReviewerForm(forms.Form):
    reviewer = forms.ModelChoiceField(queryset=None, label="Reviewer")

    def __init__(self, *args, reviewers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["reviewer"].queryset = reviewers


class EvidenceForm(forms.Form):
    statement = forms.CharField(
        label="Your evidence",
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Describe what you did and what it shows (at least 50 characters).",
    )


class ListingForm(forms.Form):
    listed = forms.BooleanField(required=False, label="List me in the public trainer directory")
    display_name = forms.CharField(max_length=200, label="Name shown in the directory")
    place = forms.CharField(max_length=200, required=False, label="Place (city and country)")
