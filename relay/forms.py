from django import forms
from django.utils.translation import gettext_lazy as _

from mailaccounts.models import Domain
from tenants.fields import FewIdChoiceField, IdMultipleChoiceField

from .models import RelayCredential, Status


class CredentialForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=80,
        help_text=_("What uses it, for example “webshop” or “newsletter”."),
    )
    domains = IdMultipleChoiceField(
        label=_("May send as"),
        queryset=Domain.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Only your verified domains can be chosen."),
        error_messages={"required": _("Choose at least one domain this credential may send as.")},
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["domains"].queryset = Domain.objects.for_customer(customer).verified().order_by("name")

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name or any(ord(ch) < 32 for ch in name):
            raise forms.ValidationError(_("Enter a name without control characters."))
        return name


class MessageFilterForm(forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Any status"))] + Status.choices
    )
    sender = forms.CharField(label=_("Sender"), required=False, max_length=320)
    recipient = forms.CharField(label=_("Recipient"), required=False, max_length=320)
    message_id = forms.CharField(label=_("Message-ID"), required=False, max_length=500)
    credential = FewIdChoiceField(
        label=_("Credential"), required=False, queryset=RelayCredential.objects.none(), empty_label=_("Any")
    )

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["credential"].queryset = RelayCredential.objects.for_customer(customer)

    def clean(self):
        data = super().clean()
        for name in ("sender", "recipient", "message_id"):
            if name in data:
                data[name] = data[name].strip().strip("<>").strip()
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The start date is after the end date."))
        return data
