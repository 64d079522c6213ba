"""Forms for mailboxes, aliases, forwarding, autoresponders and domain routing.

Forms check the shape of what was typed; the rules (pool, clashes, cycles, other customers' domains) live
in `mailaccounts.services` and come back as `ValidationError`s the views attach to the form.
"""

import re
from zoneinfo import ZoneInfo

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.addresses import normalize_email_address, validate_email_address
from tenants.fields import IdChoiceField

from .models import DkimKey, DmarcPolicy, Domain, Mailbox, MtaStsMode
from .services import addresses, autoresponders, storage
from .services import dkim as dkim_service

AMSTERDAM = ZoneInfo("Europe/Amsterdam")
MB = storage.MB
MAX_QUOTA_MB = 10 * 1024 * 1024  # 10 TB: beyond any plan; the pool check gives the real limit


class AsciiIntegerField(forms.IntegerField):
    """A whole number in plain digits: Python would read full-width or Arabic-Indic digits as numbers too."""

    def to_python(self, value):
        if isinstance(value, str) and not value.strip().isascii():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class QuotaField(AsciiIntegerField):
    """A quota typed in MB, stored in bytes."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("Quota (MB)"))
        kwargs.setdefault("min_value", storage.MIN_QUOTA_BYTES // MB)
        kwargs.setdefault("max_value", MAX_QUOTA_MB)
        super().__init__(**kwargs)


class PasswordChoiceMixin(forms.Form):
    GENERATE = "generate"
    CHOOSE = "choose"

    password_mode = forms.ChoiceField(
        label=_("Password"),
        choices=[(GENERATE, _("Generate a strong password for me")), (CHOOSE, _("Let me choose one"))],
        initial=GENERATE,
        widget=forms.RadioSelect,
    )
    password1 = forms.CharField(
        label=_("New password"),
        required=False,
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("New password (again)"),
        required=False,
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("password_mode") == self.CHOOSE:
            first, second = cleaned.get("password1") or "", cleaned.get("password2") or ""
            if not first:
                self.add_error("password1", _("Enter the password, or let us generate one."))
            elif first != second:
                self.add_error("password2", _("The two passwords differ."))
        return cleaned

    @property
    def chosen_password(self) -> str | None:
        """The typed password, or None to generate one."""
        if self.cleaned_data.get("password_mode") == self.CHOOSE:
            return self.cleaned_data["password1"]
        return None


class MailboxCreateForm(PasswordChoiceMixin):
    local_part = forms.CharField(label=_("Address"), max_length=200)
    domain = IdChoiceField(label=_("Domain"), queryset=Domain.objects.none(), empty_label=None)
    display_name = forms.CharField(label=_("Display name"), max_length=120, required=False)
    quota_mb = QuotaField()

    field_order = [
        "local_part",
        "domain",
        "display_name",
        "quota_mb",
        "password_mode",
        "password1",
        "password2",
    ]

    def __init__(self, *args, customer, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["domain"].queryset = (
            Domain.objects.for_customer(customer).verified().select_related("mailhost")
        )
        self.fields["domain"].label_from_instance = lambda domain: f"@{domain.unicode_name}"
        pool = storage.pool_summary(customer)
        self.pool = pool
        self.fields["quota_mb"].initial = pool.suggested_quota_bytes // MB
        self.fields["quota_mb"].help_text = _(
            "%(left)d MB of your plan's %(plan)d MB is not yet allocated."
        ) % {
            "left": pool.free_bytes // MB,
            "plan": pool.storage_bytes // MB,
        }

    def clean_local_part(self):
        return addresses.normalize_local_part(self.cleaned_data["local_part"], for_mailbox=True)

    def clean_quota_mb(self):
        """Early word on the pool (the service checks again, under a lock, when saving)."""
        quota_mb = self.cleaned_data["quota_mb"]
        if quota_mb * MB > self.pool.free_bytes:
            raise ValidationError(
                _("That does not fit in your plan's storage: at most %(available)d MB is left.")
                % {"available": self.pool.free_bytes // MB}
            )
        return quota_mb


class MailboxEditForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=120, required=False)
    quota_mb = QuotaField()
    is_enabled = forms.BooleanField(
        label=_("Enabled"),
        required=False,
        help_text=_("A disabled mailbox cannot log in and receives no mail."),
    )

    def __init__(self, *args, mailbox: Mailbox, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "display_name": mailbox.display_name,
                "quota_mb": mailbox.quota_bytes // MB,
                "is_enabled": mailbox.is_enabled,
            },
        )
        super().__init__(*args, **kwargs)
        pool = storage.pool_summary(mailbox.customer)
        self.fields["quota_mb"].help_text = _(
            "Up to %(max)d MB: this mailbox's %(current)d MB plus %(left)d MB not yet allocated."
        ) % {
            "max": (pool.free_bytes + mailbox.quota_bytes) // MB,
            "current": mailbox.quota_bytes // MB,
            "left": pool.free_bytes // MB,
        }


class MailboxPasswordForm(PasswordChoiceMixin):
    """A mailbox's new password: chosen (twice) or generated."""


class OwnPasswordForm(MailboxPasswordForm):
    """The mailbox's own user changing their password: the current one first, so an open session left on
    someone else's screen cannot take the mailbox over."""

    current_password = forms.CharField(
        label=_("Current password"),
        strip=False,
        max_length=256,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    field_order = ["current_password", "password_mode", "password1", "password2"]


def address_lines(value: str) -> list[str]:
    """Addresses typed one per line (commas and semicolons also separate them). Spaces do not: "jan bij
    gmail" is one thing that is not an address (one error), not three."""
    return [part.strip() for part in re.split(r"[\n,;]", value) if part.strip()]


class ForwardingForm(forms.Form):
    forward_to = forms.CharField(
        label=_("Forward to"),
        required=False,
        max_length=addresses.MAX_DESTINATIONS * (addresses.MAX_ADDRESS_LENGTH + 2),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One address per line. Leave empty to stop forwarding."),
    )
    keep_copy = forms.BooleanField(label=_("Keep a copy in this mailbox"), required=False, initial=True)

    def clean_forward_to(self):
        return address_lines(self.cleaned_data["forward_to"])


class AliasForm(forms.Form):
    local_part = forms.CharField(label=_("Address"), max_length=200)
    domain = IdChoiceField(label=_("Domain"), queryset=Domain.objects.none(), empty_label=None)
    destinations = forms.CharField(
        label=_("Deliver to"),
        max_length=addresses.MAX_DESTINATIONS * (addresses.MAX_ADDRESS_LENGTH + 2),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One address per line: your mailboxes or addresses elsewhere."),
    )
    is_enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args, customer, alias=None, **kwargs):
        if alias is not None:
            kwargs.setdefault(
                "initial", {"destinations": "\n".join(alias.destinations), "is_enabled": alias.is_enabled}
            )
        super().__init__(*args, **kwargs)
        self.fields["domain"].queryset = Domain.objects.for_customer(customer).verified()
        self.fields["domain"].label_from_instance = lambda domain: f"@{domain.unicode_name}"
        if alias is not None:  # the address of an alias does not change; delete and re-create instead
            del self.fields["local_part"]
            del self.fields["domain"]

    def clean_local_part(self):
        return addresses.normalize_local_part(self.cleaned_data["local_part"], for_mailbox=False)

    def clean_destinations(self):
        return address_lines(self.cleaned_data["destinations"])


class AmsterdamDateTimeField(forms.DateTimeField):
    """A date and time typed as Europe/Amsterdam wall-clock time, whatever the request's time zone."""

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")

    def to_python(self, value):
        result = super().to_python(value)
        if result is None:
            return None
        naive = timezone.make_naive(result) if timezone.is_aware(result) else result
        return naive.replace(tzinfo=AMSTERDAM)

    def prepare_value(self, value):
        if hasattr(value, "astimezone"):
            return value.astimezone(AMSTERDAM).strftime("%Y-%m-%dT%H:%M")
        return value


class MessageTextField(forms.CharField):
    """Multi-line text with line breaks as LF: browsers send CRLF, which would count twice toward the limit."""

    def to_python(self, value):
        value = super().to_python(value)
        return value.replace("\r\n", "\n").replace("\r", "\n")


class AutoresponderForm(forms.Form):
    is_enabled = forms.BooleanField(label=_("Send automatic replies"), required=False)
    subject = forms.CharField(label=_("Subject"), max_length=200, required=False)
    body = MessageTextField(
        label=_("Message"),
        max_length=autoresponders.AUTORESPONDER_MAX_BODY,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("Plain text, up to 10,000 characters."),
    )
    starts_at = AmsterdamDateTimeField(
        label=_("From"), required=False, help_text=_("Optional; Amsterdam time.")
    )
    ends_at = AmsterdamDateTimeField(
        label=_("Until"), required=False, help_text=_("Optional; Amsterdam time.")
    )
    interval_days = AsciiIntegerField(
        label=_("Days between replies to the same sender"),
        min_value=1,
        max_value=autoresponders.AUTORESPONDER_MAX_DAYS,
        initial=1,
    )

    def clean(self):
        cleaned = super().clean()
        try:
            autoresponders.check_autoresponder(
                cleaned.get("is_enabled", False),
                cleaned.get("subject") or "",
                cleaned.get("body") or "",
                cleaned.get("starts_at"),
                cleaned.get("ends_at"),
                cleaned.get("interval_days") or 1,
            )
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                if field not in self.errors:
                    self.add_error(field, messages)
        return cleaned


class DomainRoutingForm(forms.Form):
    postmaster_to = IdChoiceField(
        label=_("postmaster@ delivers to"), queryset=Mailbox.objects.none(), empty_label=None
    )
    abuse_to = IdChoiceField(label=_("abuse@ delivers to"), queryset=Mailbox.objects.none(), empty_label=None)
    catch_all_enabled = forms.BooleanField(
        label=_("Catch-all: deliver mail for addresses that do not exist"),
        required=False,
        help_text=_(
            "Spammers send to made-up addresses; with a catch-all all of it lands in your mailbox. "
            "Turn it on only if you need it."
        ),
    )
    catch_all_to = IdChoiceField(
        label=_("Catch-all delivers to"), queryset=Mailbox.objects.none(), required=False
    )

    def __init__(self, *args, domain: Domain, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "postmaster_to": domain.postmaster_to_id,
                "abuse_to": domain.abuse_to_id,
                "catch_all_enabled": domain.catch_all_to_id is not None,
                "catch_all_to": domain.catch_all_to_id,
            },
        )
        super().__init__(*args, **kwargs)
        mailboxes = (
            Mailbox.objects.for_customer(domain.customer)
            .active()
            .select_related("domain")
            .order_by("domain__name", "local_part")
        )
        for name in ("postmaster_to", "abuse_to", "catch_all_to"):
            self.fields[name].queryset = mailboxes
            self.fields[name].label_from_instance = lambda mailbox: mailbox.unicode_address

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("catch_all_enabled") and not cleaned.get("catch_all_to"):
            self.add_error("catch_all_to", _("Choose the mailbox that receives the catch-all mail."))
        if not cleaned.get("catch_all_enabled"):
            cleaned["catch_all_to"] = None
        return cleaned


class DkimKeyForm(forms.Form):
    algorithm = forms.ChoiceField(label=_("Key type"), choices=DkimKey.Algorithm.choices, initial="rsa")
    selector = forms.CharField(
        label=_("Selector"),
        required=False,
        max_length=200,
        help_text=_("Leave empty to have one named after this month, such as pb202611."),
    )

    def clean_selector(self):
        value = self.cleaned_data["selector"]
        return dkim_service.validate_selector(value) if value.strip() else ""


class DnsSettingsForm(forms.Form):
    dmarc_policy = forms.ChoiceField(
        label=_("DMARC policy"),
        choices=DmarcPolicy.choices,
        help_text=_("Start with “none”, read the reports, then tighten to quarantine or reject."),
    )
    dmarc_report_email = forms.EmailField(
        label=_("Reporting address"),
        required=False,
        validators=[validate_email_address],
        help_text=_("DMARC and TLS reports are sent here. Empty: postmaster@ of the domain."),
    )
    mta_sts_mode = forms.ChoiceField(label=_("MTA-STS mode"), choices=MtaStsMode.choices)

    def clean_dmarc_report_email(self) -> str:
        value = self.cleaned_data["dmarc_report_email"]
        return normalize_email_address(value) if value else ""


class DomainDeleteForm(forms.Form):
    """Removing a domain deletes its mailboxes and their mail: the owner types the domain's name to confirm."""

    confirm_name = forms.CharField(label=_("Type the domain name to confirm"), max_length=253)

    def __init__(self, *args, domain, **kwargs):
        super().__init__(*args, **kwargs)
        self.domain = domain

    def clean_confirm_name(self) -> str:
        typed = self.cleaned_data["confirm_name"].strip().rstrip(".").lower()
        if typed not in {self.domain.name.lower(), self.domain.unicode_name.lower()}:
            raise forms.ValidationError(
                _("Type %(name)s exactly to remove it.") % {"name": self.domain.unicode_name}
            )
        return typed


# Signatures ------------------------------------------------------------------------------------------

PHONE = re.compile(r"[0-9+()./ \-]*")
SIGNATURE_HTML_HELP = _(
    "Optional. Bold, italic, links, lists, tables and small inline images are kept; scripts, images from "
    "elsewhere and hidden text are removed."
)


def no_control_characters(value: str) -> None:
    if any(ord(character) < 32 for character in value):
        raise ValidationError(_("Use one line, without special characters."), code="control")


class SignatureTextFields(forms.Form):
    # no max_length: the service refuses more than 10,000 characters with its own message
    text = forms.CharField(
        label=_("Signature"),
        required=False,
        strip=False,
        help_text=_(
            "{name}, {address} and {phone} are filled in with the mailbox's name, address and phone number."
        ),
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    html = forms.CharField(
        label=_("Signature with formatting (HTML)"),
        required=False,
        strip=False,
        help_text=SIGNATURE_HTML_HELP,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
    )


class SignatureForm(SignatureTextFields):
    name = forms.CharField(
        label=_("Name"), max_length=120, required=False, validators=[no_control_characters]
    )
    phone = forms.CharField(label=_("Phone number"), max_length=40, required=False)

    field_order = ["name", "phone", "text", "html"]

    def clean_phone(self):
        phone = self.cleaned_data["phone"].strip()
        if not PHONE.fullmatch(phone):
            raise ValidationError(_("Use digits, spaces and + ( ) - only."), code="phone")
        return phone


class SignatureTemplateForm(SignatureTextFields):
    """A domain's signature template: the signature's fields, with placeholders mailboxes fill in."""
