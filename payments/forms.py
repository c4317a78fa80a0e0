from django import forms


class DiscountCodeForm(forms.Form):
    code = forms.CharField(label="Discount code", max_length=40)


class InvoiceForm(forms.Form):
    billing_name = forms.CharField(
        label="Organisation to invoice",
        max_length=200,
        help_text="The agency or employer paying for these seats.",
    )
    billing_address = forms.CharField(
        label="Billing address", widget=forms.Textarea(attrs={"rows": 4})
    )
    po_number = forms.CharField(
        label="Purchase-order number",
        max_length=100,
        required=False,
        help_text="If your organisation issued one; it is printed on the invoice.",
    )


class RefundForm(forms.Form):
    amount = forms.DecimalField(
        label="Amount to refund",
        min_value=0,
        decimal_places=2,
        help_text="In the order's currency, e.g. 25.00.",
    )
    reason = forms.CharField(label="Reason", max_length=255, required=False)

    def amount_minor_units(self):
        return int((self.cleaned_data["amount"] * 100).to_integral_value())


class MarkPaidForm(forms.Form):
    reference = forms.CharField(
        label="Payment reference",
        max_length=200,
        help_text="The bank transfer or cheque reference.",
    )
