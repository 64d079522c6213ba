"""Forms of the customer's panel: onboarding, plan change, team."""

from django import forms
from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _
from django_countries import countries
from stdnum.eu import vat as eu_vat
from stdnum.exceptions import ValidationError as VatError

from .addresses import validate_email_address
from .fields import IdChoiceField
from .models import Customer, Membership, Plan, vat_percent
from .services import CUSTOMER_DETAILS
from .units import format_bytes
from .validation import normalize_phone, normalize_postal_code


def euro(amount) -> str:
    return "€\xa0" + number_format(amount, decimal_pos=2, use_l10n=True, force_grouping=True)


def plan_label(plan: Plan) -> str:
    return _("%(name)s — %(storage)s — %(excl)s/month excl. VAT (%(incl)s incl. %(vat)s%% VAT)") % {
        "vat": vat_percent(),
        "name": plan.name,
        "storage": format_bytes(plan.storage_bytes),
        "excl": euro(plan.price_monthly),
        "incl": euro(plan.price_monthly_incl_vat),
    }


class PlanChoiceField(IdChoiceField):
    def label_from_instance(self, obj):
        return plan_label(obj)


class CustomerDetailsForm(forms.ModelForm):
    """The organisation's details as invoices show them, and the language of the e-mails it gets."""

    country = forms.ChoiceField(label=_("Country"), choices=lambda: list(countries), initial="NL")

    class Meta:
        model = Customer
        fields = CUSTOMER_DETAILS
        labels = {"name": _("Organisation name")}
        help_texts = {
            "vat_number": _("Optional. EU VAT number with country prefix, e.g. NL123456789B01."),
            "billing_email": _("Invoices and payment reminders go to this address."),
            "phone": _("Optional. So we can call you about your account."),
            "language": _("Invoices, reminders and notices about your mail are sent in this language."),
        }

    def clean_name(self):
        name = self.cleaned_data["name"].strip()
        if not name:
            raise forms.ValidationError(_("Enter your organisation's name."))
        return name

    def clean(self):
        cleaned = super().clean()
        country = cleaned.get("country") or "NL"
        for field, normalize in (("postal_code", normalize_postal_code), ("phone", normalize_phone)):
            value = cleaned.get(field)
            if not value or field not in self.fields:
                continue
            try:
                cleaned[field] = normalize(value, country)
            except ValueError as error:
                self.add_error(field, str(error))
        return cleaned

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
        fields = [
            "name",
            "billing_email",
            "address",
            "postal_code",
            "city",
            "country",
            "phone",
            "vat_number",
            "plan",
        ]


class InviteForm(forms.Form):
    email = forms.EmailField(label=_("E-mail address"), max_length=254, validators=[validate_email_address])
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
