"""Forms of the registration flow. They check shape and tell the person what to fix; the
rules about seats, prices and windows are checked again by `courses.services`."""

import re
import uuid

from django import forms
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from cms.money import format_money
from courses.license_formats import (
    jurisdiction_choices,
    license_number_error,
    normalise_license_number,
)
from courses.models import QuestionKind

TICKET_FIELD = re.compile(r"^ticket_(\d+)$")
ADD_ON_FIELD = re.compile(r"^addon_(\d+)$")


def _price_text(amount, currency):
    return format_money(amount, currency) if amount else _("free")


def new_idempotency_key():
    """A fresh key for each rendering of a form that creates a hold."""
    return uuid.uuid4().hex


class RegistrationChoiceForm(forms.Form):
    """Step 1: how many of each ticket, how many attendees want each add-on."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)

    def __init__(self, event, *args, ticket_types=None, add_ons=None, now=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.event = event
        now = now or timezone.now()
        self.ticket_types = list(
            ticket_types if ticket_types is not None else event.ticket_types.all()
        )
        self.add_ons = list(add_ons if add_ons is not None else event.add_ons.all())
        self.ticket_rows = []
        for index, ticket in enumerate(self.ticket_types):
            if not ticket.on_sale(now):
                continue
            price = ticket.current_price(now)
            name = f"ticket_{ticket.pk}"
            self.fields[name] = forms.IntegerField(
                label=ticket.name,
                min_value=0,
                max_value=ticket.max_per_order,
                required=False,
                initial=1 if index == 0 and len(self.ticket_types) == 1 else 0,
                help_text=ticket.description,
                error_messages={
                    "max_value": _(
                        "You can book at most %(max)s “%(ticket)s” tickets in one order. "
                        "For more, please contact us."
                    )
                    % {"max": ticket.max_per_order, "ticket": ticket.name},
                    "min_value": _("Enter 0 or more."),
                    "invalid": _("Enter a whole number of tickets."),
                },
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
            self.ticket_rows.append(
                {
                    "field": self[name],
                    "ticket": ticket,
                    "price": price,
                    "price_text": format_money(price, event.currency) if price else _("Free"),
                    "early_bird": price != ticket.price,
                }
            )
        self.add_on_rows = []
        for add_on in self.add_ons:
            name = f"addon_{add_on.pk}"
            self.fields[name] = forms.IntegerField(
                label=add_on.name,
                min_value=0,
                required=False,
                initial=0,
                help_text=add_on.description,
                error_messages={
                    "min_value": _("Enter 0 or more."),
                    "invalid": _("Enter a whole number of attendees."),
                },
                widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
            )
            self.add_on_rows.append(
                {
                    "field": self[name],
                    "add_on": add_on,
                    "price_text": format_money(add_on.price, event.currency)
                    if add_on.price
                    else _("Free"),
                }
            )
        if any(ticket.access_code for ticket in self.ticket_types):
            self.fields["access_code"] = forms.CharField(
                label=_("Access code"),
                required=False,
                max_length=60,
                help_text=_("Only for discounted rates (for example students or members)."),
            )
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_idempotency_key())

    def clean(self):
        cleaned = super().clean()
        if self.is_bound:
            offered = {f"ticket_{row['ticket'].pk}" for row in self.ticket_rows}
            offered_add_ons = {f"addon_{row['add_on'].pk}" for row in self.add_on_rows}
            for key in self.data:
                if TICKET_FIELD.match(key) and key not in offered:
                    raise forms.ValidationError(
                        _("That ticket is not offered for this event. Please choose again.")
                    )
                if ADD_ON_FIELD.match(key) and key not in offered_add_ons:
                    raise forms.ValidationError(
                        _("That add-on is not offered for this event. Please choose again.")
                    )
        if self.errors:
            return cleaned
        seats = sum(self.quantities().values())
        if not seats:
            raise forms.ValidationError(_("Choose at least one ticket."))
        for row in self.add_on_rows:
            name = f"addon_{row['add_on'].pk}"
            if (cleaned.get(name) or 0) > seats:
                self.add_error(
                    name,
                    _(
                        "“%(add_on)s” can be added at most once per attendee "
                        "(%(seats)s in this order)."
                    )
                    % {"add_on": row["add_on"].name, "seats": seats},
                )
        return cleaned

    def quantities(self):
        return {
            row["ticket"].pk: self.cleaned_data.get(f"ticket_{row['ticket'].pk}") or 0
            for row in self.ticket_rows
            if self.cleaned_data.get(f"ticket_{row['ticket'].pk}")
        }

    def add_on_counts(self):
        return {
            row["add_on"].pk: self.cleaned_data.get(f"addon_{row['add_on'].pk}") or 0
            for row in self.add_on_rows
            if self.cleaned_data.get(f"addon_{row['add_on'].pk}")
        }


def _clean_license(form, cleaned):
    """CE asked for: who issued the license and its number, in that board's shape."""
    jurisdiction = cleaned.get("license_jurisdiction")
    number = normalise_license_number(cleaned.get("license_number"))
    cleaned["license_number"] = number
    if not jurisdiction:
        form.add_error(
            "license_jurisdiction",
            _("Choose who issued your license: CE credit is reported to that board."),
        )
    if not number:
        form.add_error("license_number", _("Enter your license number to receive CE credit."))
    elif jurisdiction:
        error = license_number_error(jurisdiction, number)
        if error:
            form.add_error("license_number", error)


class OneStepForm(forms.Form):
    """ "Register (free)": a member's own free seat in one step. Where the event gives CE,
    asking for it takes the license here, as the attendee step would."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    wants_ce = forms.BooleanField(
        label=gettext_lazy("I want continuing-education (CE) credit"), required=False
    )
    license_jurisdiction = forms.ChoiceField(
        label=gettext_lazy("License issued by"),
        required=False,
        help_text=gettext_lazy("Needed for CE credit."),
    )
    license_number = forms.CharField(
        label=gettext_lazy("License number"),
        max_length=60,
        required=False,
        help_text=gettext_lazy("As printed on your license; needed for CE credit."),
    )

    def __init__(self, *args, ce_offered, **kwargs):
        super().__init__(*args, **kwargs)
        self.ce_offered = ce_offered
        if ce_offered:
            self.fields["license_jurisdiction"].choices = [("", _("Choose…"))] + list(
                jurisdiction_choices()
            )
        else:
            for name in ("wants_ce", "license_jurisdiction", "license_number"):
                del self.fields[name]
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_idempotency_key())

    def clean(self):
        cleaned = super().clean()
        if self.ce_offered and cleaned.get("wants_ce"):
            _clean_license(self, cleaned)
        return cleaned

    def ce_details(self):
        """What the seat records about CE: asked for or not, and the license if asked."""
        if not self.ce_offered or not self.cleaned_data.get("wants_ce"):
            return {"wants_ce": False}
        return {
            "wants_ce": True,
            "license_jurisdiction": self.cleaned_data["license_jurisdiction"],
            "license_number": self.cleaned_data["license_number"],
        }


class AttendeeForm(forms.Form):
    """Step 2, one per seat: who sits there, as a certificate and a CE board need it."""

    invite = forms.BooleanField(
        label=gettext_lazy(
            "Send this attendee an invitation to claim the seat with their own account"
        ),
        required=False,
        help_text=gettext_lazy("They get an email with a link once the registration is complete."),
    )
    attendee_name = forms.CharField(
        label=gettext_lazy("Legal name"),
        max_length=200,
        help_text=gettext_lazy("Exactly as it should appear on the certificate, in any script."),
        error_messages={
            "required": gettext_lazy(
                "Enter the attendee's legal name, as it should appear on the "
                "certificate (also for a seat you send as an invitation)."
            )
        },
    )
    attendee_email = forms.EmailField(
        label=gettext_lazy("Email address"),
        max_length=254,
        error_messages={"required": gettext_lazy("Enter the attendee's email address.")},
    )
    profession = forms.CharField(
        label=gettext_lazy("Profession"),
        max_length=120,
        required=False,
        help_text=gettext_lazy(
            "For example: psychologist, licensed clinical social worker, counselor."
        ),
    )
    add_on_ids = forms.MultipleChoiceField(
        label=gettext_lazy("Add-ons"), required=False, widget=forms.CheckboxSelectMultiple
    )
    wants_ce = forms.BooleanField(
        label=gettext_lazy("I want continuing-education (CE) credit"), required=False
    )
    license_jurisdiction = forms.ChoiceField(
        label=gettext_lazy("License issued by"),
        required=False,
        help_text=gettext_lazy("Needed for CE credit."),
    )
    license_number = forms.CharField(
        label=gettext_lazy("License number"),
        max_length=60,
        required=False,
        help_text=gettext_lazy("As printed on your license; needed for CE credit."),
    )
    accessibility_needs = forms.CharField(
        label=gettext_lazy("Accessibility needs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("Anything we should arrange so you can take part fully."),
    )
    dietary_needs = forms.CharField(
        label=gettext_lazy("Dietary needs"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args, registration, add_ons, questions, ce_offered, **kwargs):
        self.registration = registration
        self.add_ons = list(add_ons)
        self.questions = list(questions)
        initial = {
            "invite": registration.awaiting_claim,
            "attendee_name": registration.attendee_name,
            "attendee_email": registration.attendee_email,
            "profession": registration.profession,
            "wants_ce": registration.wants_ce,
            "license_jurisdiction": registration.license_jurisdiction,
            "license_number": registration.license_number,
            "accessibility_needs": registration.accessibility_needs,
            "dietary_needs": registration.dietary_needs,
            "add_on_ids": [str(line.add_on_id) for line in registration.add_on_lines.all()],
        }
        for question in self.questions:
            initial[f"question_{question.pk}"] = registration.answers.get(str(question.pk), "")
        kwargs.setdefault("initial", initial)
        super().__init__(*args, **kwargs)
        currency = registration.event.currency
        if self.add_ons:
            self.fields["add_on_ids"].choices = [
                (str(a.pk), self._add_on_label(a, currency)) for a in self.add_ons
            ]
        else:
            del self.fields["add_on_ids"]
        # Where CE is bought as an add-on, choosing the add-on is how one asks for credit.
        if not ce_offered or any(a.grants_ce for a in self.add_ons):
            del self.fields["wants_ce"]
        self.ce_possible = ce_offered or any(a.grants_ce for a in self.add_ons)
        if self.ce_possible:
            self.fields["license_jurisdiction"].choices = [("", _("Choose…"))] + list(
                jurisdiction_choices()
            )
        else:
            del self.fields["license_jurisdiction"]
            del self.fields["license_number"]
        for question in self.questions:
            self.fields[f"question_{question.pk}"] = self._question_field(question)

    @staticmethod
    def _add_on_label(add_on, currency):
        label = _("%(add_on)s (%(price)s)") % {
            "add_on": add_on.name,
            "price": _price_text(add_on.price, currency),
        }
        if add_on.grants_ce:
            return _("%(add_on)s – includes CE credit") % {"add_on": label}
        return label

    @staticmethod
    def _question_field(question):
        common = {"label": question.label, "help_text": question.help_text, "required": False}
        if question.kind == QuestionKind.TEXTAREA:
            return forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), **common)
        if question.kind == QuestionKind.CHOICE:
            return forms.ChoiceField(
                choices=[("", _("Choose…"))] + [(c, c) for c in question.choice_list], **common
            )
        if question.kind == QuestionKind.CHECKBOX:
            return forms.BooleanField(**common)
        return forms.CharField(max_length=500, **common)

    @property
    def question_fields(self):
        return [self[f"question_{q.pk}"] for q in self.questions]

    def chose_ce(self):
        chosen = set(self.cleaned_data.get("add_on_ids") or [])
        return bool(self.cleaned_data.get("wants_ce")) or any(
            a.grants_ce and str(a.pk) in chosen for a in self.add_ons
        )

    def clean(self):
        cleaned = super().clean()
        invite = cleaned.get("invite")
        if self.ce_possible and self.chose_ce() and not invite:
            _clean_license(self, cleaned)
        elif cleaned.get("license_number"):
            cleaned["license_number"] = normalise_license_number(cleaned["license_number"])
        if not invite:
            for question in self.questions:
                name = f"question_{question.pk}"
                if question.required and cleaned.get(name) in (None, "", False):
                    self.add_error(name, _("Please answer this question."))
        return cleaned

    def service_data(self):
        """The attendee details in the shape `services.update_attendee_details` takes."""
        cleaned = self.cleaned_data
        data = {
            "invite": bool(cleaned.get("invite")),
            "attendee_name": cleaned["attendee_name"].strip(),
            "attendee_email": cleaned["attendee_email"].strip(),
            "profession": cleaned.get("profession", "").strip(),
            "accessibility_needs": cleaned.get("accessibility_needs", "").strip(),
            "dietary_needs": cleaned.get("dietary_needs", "").strip(),
            "wants_ce": self.chose_ce(),
            "license_jurisdiction": cleaned.get("license_jurisdiction", "") or "",
            "license_number": cleaned.get("license_number", "") or "",
            "answers": {
                str(q.pk): cleaned.get(f"question_{q.pk}")
                for q in self.questions
                if cleaned.get(f"question_{q.pk}") not in (None, "")
            },
        }
        if self.add_ons:
            data["add_on_ids"] = [int(pk) for pk in cleaned.get("add_on_ids") or []]
        return data


class TransferForm(forms.Form):
    new_name = forms.CharField(
        label=gettext_lazy("Colleague's legal name"),
        max_length=200,
        help_text=gettext_lazy("Exactly as it should appear on their certificate."),
    )
    new_email = forms.EmailField(
        label=gettext_lazy("Colleague's email address"),
        help_text=gettext_lazy(
            "They get the confirmation and, if they have no account yet, a link to claim the seat."
        ),
    )


class WaitlistClaimForm(forms.Form):
    """Claiming an offered seat: which ticket (when there is a choice), then the usual steps."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    ticket_type = forms.TypedChoiceField(label=gettext_lazy("Ticket"), coerce=int)

    def __init__(self, *args, ticket_types, preferred=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ticket_type"].choices = [
            (
                t.pk,
                _("%(ticket)s (%(price)s)")
                % {"ticket": t.name, "price": _price_text(t.current_price(), t.event.currency)},
            )
            for t in ticket_types
        ]
        if preferred is not None:
            self.initial.setdefault("ticket_type", preferred.pk)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_idempotency_key())
