from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.fields import IdChoiceField
from tenants.models import Plan


class InvoiceFilterForm(forms.Form):
    STATUS_CHOICES = [
        ("", _("All")),
        ("open", _("Open")),
        ("overdue", _("Overdue")),
        ("paid", _("Paid")),
        ("credited", _("Credited")),
    ]
    status = forms.ChoiceField(label=_("Status"), choices=STATUS_CHOICES, required=False)


class MarkPaidForm(forms.Form):
    paid_on = forms.DateField(
        label=_("Paid on"), initial=timezone.localdate, widget=forms.DateInput(attrs={"type": "date"})
    )
    reference = forms.CharField(
        label=_("Payment reference"),
        max_length=100,
        help_text=_("For example the bank transaction's reference."),
    )

    def clean_paid_on(self):
        paid_on = self.cleaned_data["paid_on"]
        if paid_on > timezone.localdate():
            raise forms.ValidationError(_("The payment date cannot be in the future."))
        return paid_on


class CreditInvoiceForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), max_length=200)


class ChangePlanForm(forms.Form):
    plan = IdChoiceField(queryset=Plan.objects.available(), to_field_name="code")
