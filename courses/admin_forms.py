"""The event page's edit form in the Wagtail admin."""

from wagtail.admin.forms import WagtailAdminPageForm

from cms.money import MoneyFormField


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
