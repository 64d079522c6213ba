"""Forms of the customer's panel: onboarding, plan change, team."""

from django import forms
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as VatError

from .models import Customer, Membership, Plan, vat_percent
from .services import CUSTOMER_DETAILS


def plan_label(plan: Plan) -> str:
    return _("%(name)s — %(storage)s GB — €%(excl)s/month excl. VAT (€%(incl)s incl. %(vat)s%% VAT)") % {
        "vat": vat_percent(),
        "name": plan.name,
        "storage": number_format(plan.storage_gb, 1),
        "excl": number_format(plan.price_monthly, 2),
        "incl": number_format(plan.price_monthly_incl_vat, 2),
    }


class PlanChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return plan_label(obj)


class CustomerDetailsForm(forms.ModelForm):
    """The organisation's details as invoices show them, and the language of the e-mails it gets."""

    country = forms.ChoiceField(label=_("Country"), choices=countries, initial="NL")

    class Meta:
        model = Customer
        fields = CUSTOMER_DETAILS
        labels = {"name": _("Organisation name")}
        help_texts = {
            "vat_number": _("Optional. EU VAT number with country prefix, e.g. NL123456789B01."),
            "billing_email": _("Invoices and payment reminders go to this address."),
            "language": _("Invoices, reminders and notices about your mail are sent in this language."),
        }

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter your organisation's name."))
        return name

    def clean_vat_number(self):
        raw = self.cleaned_data.get("vat_number", "").strip()
        if not raw:
            return ""
        try:
            return eu_vat.validate(raw)
        except VatError as error:
            raise forms.ValidationError(
                _("This is not a valid EU VAT number (expected e.g. NL123456789B01).")
            ) from error


class OnboardingForm(CustomerDetailsForm):
    """The customer's details and the first plan, asked once after sign-up (the e-mail language is the one
    the sign-up happened in, changeable later)."""

    plan = PlanChoiceField(
        label=_("Plan"), queryset=Plan.objects.available(), widget=forms.RadioSelect, empty_label=None
    )

    class Meta(CustomerDetailsForm.Meta):
        fields = ["name", "billing_email", "address", "postal_code", "city", "country", "vat_number", "plan"]


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254)
    role = forms.ChoiceField(
        label=_("Role"),
        choices=[
            (Membership.Role.MEMBER, _("Member — manages mail")),
            (Membership.Role.BILLING, _("Billing — sees invoices")),
        ],
        initial=Membership.Role.MEMBER,
    )


class TwoFactorRequirementForm(forms.Form):
    require_two_factor = forms.BooleanField(
        label=_("Require two-factor authentication for all users"), required=False
    )
