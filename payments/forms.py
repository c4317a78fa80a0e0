from django import forms
from django.utils.translation import gettext_lazy as _

from cms.money import to_minor


class DiscountCodeForm(forms.Form):
    code = forms.CharField(label=_("Discount code"), max_length=40)


class InvoiceForm(forms.Form):
    billing_name = forms.CharField(
        label=_("Organisation to invoice (optional)"),
        max_length=200,
        required=False,
        help_text=_(
            "The agency or employer paying for these seats. Leave it empty if you are paying "
            "yourself: the invoice is then made out to you."
        ),
    )
    billing_address = forms.CharField(
        label=_("Billing address"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The postal address printed on the invoice."),
    )
    po_number = forms.CharField(
        label=_("Purchase-order number"),
        max_length=100,
        required=False,
        help_text=_("If your organisation issued one; it is printed on the invoice."),
    )


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label=_("Amount to refund"),
        min_value=0,
        decimal_places=2,
        help_text=_("In the order's currency, e.g. 25.00."),
    )
    reason = forms.CharField(label=_("Reason"), max_length=255, required=False)
    confirm = forms.BooleanField(
        label=_("Yes, refund this amount to the buyer"),
        error_messages={"required": _("Tick the box to confirm the refund.")},
    )

    def amount_minor_units(self, currency):
        """The amount typed in the order's currency, in its minor units (25.00 USD -> 2500)."""
        return to_minor(self.cleaned_data["amount"], currency)


class MarkPaidForm(forms.Form):
    reference = forms.CharField(
        label=_("Payment reference"),
        max_length=200,
        help_text=_("The bank transfer or cheque reference."),
    )


class MembershipInvoiceForm(forms.Form):
    billing_name = forms.CharField(
        label=_("Name or organisation to invoice"),
        max_length=200,
        required=False,
        help_text=_(
            "The agency or employer paying for your membership. Leave it empty to have the "
            "invoice made out to you."
        ),
    )
    billing_address = forms.CharField(
        label=_("Billing address"),
        max_length=1000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("The postal address printed on the invoice."),
    )
    po_number = forms.CharField(
        label=_("Purchase-order number"),
        max_length=100,
        required=False,
        help_text=_("If your organisation issued one; it is printed on the invoice."),
    )
