"""The event page's edit form in the Wagtail admin."""

from django.utils.translation import gettext as _
from wagtail.admin.forms import WagtailAdminPageForm

from cms.money import MoneyFormField

ON_DEMAND = "on_demand"  # courses.models.EventFormat.ON_DEMAND (models import this module)


class EventPageForm(WagtailAdminPageForm):
    """Ticket and add-on prices are typed in the event's currency units ("450.00", or whole
    yen for an event in JPY), whichever currency the form is saving."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        currency = self.data.get("currency") or self.instance.currency
        for formset in self.formsets.values():
            for form in formset.forms:
                for field in form.fields.values():
                    if isinstance(field, MoneyFormField):
                        field.set_currency(currency)

    def clean(self):
        """A live event needs a schedule; an on-demand course has none (its recordings are
        watched at any time), so its sessions may be left empty."""
        cleaned = super().clean()
        sessions = self.formsets.get("sessions")
        if cleaned.get("format") != ON_DEMAND and sessions is not None and sessions.is_valid():
            kept = [
                form
                for form in sessions.forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE")
            ]
            if not kept:
                self.add_error(
                    None,
                    _(
                        "Add at least one session to the schedule. Only an on-demand course "
                        "is published without sessions."
                    ),
                )
        return cleaned
