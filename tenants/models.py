"""Customers (tenants), their users and roles, plans, subscriptions and the audit log."""

import secrets
from decimal import ROUND_HALF_UP, Decimal

from allauth.mfa.models import Authenticator
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .addresses import validate_email_address

GB = 10**9  # decimal, as the product page sells storage: 5 GB is 5,000 MB


def new_support_pin() -> str:
    """Six digits a caller reads out to support to prove which customer they are."""
    return f"{secrets.randbelow(10**6):06d}"


CENT = Decimal("0.01")


def vat_rate() -> Decimal:
    return Decimal(settings.VAT_RATE)


def vat_percent() -> str:
    """The VAT rate as people read it: "21" for 0.21, "9" for 0.09, "20.5" for 0.205."""
    return format((vat_rate() * 100).normalize(), "f")


def with_vat(amount: Decimal) -> Decimal:
    return (amount * (1 + vat_rate())).quantize(CENT, rounding=ROUND_HALF_UP)


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra_fields):
        if not email:
            raise ValueError("An e-mail address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractUser):
    """A person who signs in with an e-mail address. Belongs to at most one customer (see Membership)."""

    username = None
    email = models.EmailField(_("e-mail address"), unique=True, validators=[validate_email_address])

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []
    objects = UserManager()

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self):
        return self.email


class PlanQuerySet(models.QuerySet):
    def available(self):
        return self.filter(is_active=True).order_by("sort_order", "price_monthly")


class Plan(models.Model):
    """A mail plan as sold. Prices exclude VAT; storage is a pool shared out as mailbox quotas."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=80)
    price_monthly = models.DecimalField(_("price per month (excl. VAT)"), max_digits=8, decimal_places=2)
    storage_bytes = models.BigIntegerField(_("storage (bytes)"))
    hourly_send_limit = models.PositiveIntegerField(_("messages per hour per sender"), default=500)
    is_active = models.BooleanField(_("available for new subscriptions"), default=True)
    sort_order = models.PositiveSmallIntegerField(_("sort order"), default=0)

    objects = PlanQuerySet.as_manager()

    class Meta:
        ordering = ["sort_order", "price_monthly"]
        verbose_name = _("plan")
        verbose_name_plural = _("plans")

    def __str__(self):
        return self.name

    @property
    def price_monthly_incl_vat(self) -> Decimal:
        return with_vat(self.price_monthly)

    @property
    def storage_gb(self) -> Decimal:
        return (Decimal(self.storage_bytes) / GB).quantize(Decimal("0.1"))


class CustomerQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status=Customer.Status.ACTIVE)


def default_language() -> str:
    """The panel's language when the row is made (a setting, so not frozen into the migration)."""
    return settings.LANGUAGE_CODE


class Customer(models.Model):
    """The tenant. Everything a customer owns hangs off this row."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")
        # Cancelled and past its last paid day: no mail is served; the data waits for restore or deletion.
        CLOSED = "closed", _("Closed")

    name = models.CharField(_("name"), max_length=200)
    billing_email = models.EmailField(_("billing e-mail"), validators=[validate_email_address])
    address = models.CharField(_("address"), max_length=200)
    postal_code = models.CharField(_("postal code"), max_length=20)
    city = models.CharField(_("city"), max_length=100)
    country = models.CharField(_("country"), max_length=2, default="NL")
    vat_number = models.CharField(_("VAT number"), max_length=20, blank=True)
    plan = models.ForeignKey(Plan, verbose_name=_("plan"), on_delete=models.PROTECT, related_name="customers")
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    suspended_reason = models.CharField(_("reason for suspension"), max_length=200, blank=True)
    support_pin = models.CharField(
        _("support PIN"),
        max_length=6,
        default=new_support_pin,
        db_index=True,
        help_text=_("Shown in the customer's panel; a caller reads it out so support knows who is calling."),
    )
    phone = models.CharField(_("phone number"), max_length=30, blank=True)
    suspended_at = models.DateTimeField(_("suspended at"), null=True, blank=True)
    require_two_factor = models.BooleanField(_("require two-factor authentication"), default=False)
    # The language of the e-mails about the account (invoices, reminders, full mailboxes, broken DNS).
    language = models.CharField(
        _("language for e-mails"), max_length=10, choices=settings.LANGUAGES, default=default_language
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self):
        return self.name

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED

    @property
    def is_closed(self) -> bool:
        return self.status == self.Status.CLOSED

    @property
    def is_read_only(self) -> bool:
        """Suspended or closed: its users may look (and pay), not change anything."""
        return self.status in (self.Status.SUSPENDED, self.Status.CLOSED)


class Subscription(models.Model):
    """One period on one plan; the open row (ended_at is null) is the current one. Kept as history."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="subscriptions", verbose_name=_("customer")
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="subscriptions", verbose_name=_("plan")
    )
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("changed by"),
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        constraints = [
            models.UniqueConstraint(
                fields=["customer"], condition=models.Q(ended_at__isnull=True), name="one_open_subscription"
            )
        ]

    def __str__(self):
        return f"{self.customer} – {self.plan}"


class Membership(models.Model):
    """A user's place in a customer, with a role. A user belongs to one customer."""

    class Role(models.TextChoices):
        OWNER = "owner", _("Owner")
        MEMBER = "member", _("Member")
        BILLING = "billing", pgettext_lazy("membership role", "Billing")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership", verbose_name=_("user")
    )
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="memberships", verbose_name=_("customer")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")

    def __str__(self):
        return f"{self.user} @ {self.customer} ({self.role})"

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER


class Invitation(models.Model):
    """An owner's invitation of a colleague by e-mail. Only the token's hash is stored."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("e-mail address"), validators=[validate_email_address])
    role = models.CharField(
        _("role"), max_length=20, choices=Membership.Role.choices, default=Membership.Role.MEMBER
    )
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted at"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")

    def __str__(self):
        return self.email


# What each audit action means, for the activity page (the codes themselves are stable identifiers).
AUDIT_ACTION_LABELS = {
    "alias.create": _("Alias created"),
    "alias.delete": _("Alias deleted"),
    "alias.disable": _("Alias disabled"),
    "alias.update": _("Alias changed"),
    "autoresponder.save": _("Automatic reply saved"),
    "account.cancelled": _("Account cancelled"),
    "account.closed": _("Mail stopped after cancellation"),
    "account.deleted": _("Account data deleted for good"),
    "account.restored": _("Cancelled account restored"),
    "backup.deleted_message_restore": _("Deleted message restored"),
    "backup.restore": _("Restore from backup started"),
    "backup.restore_failed": _("Restore from backup failed"),
    "backup.restore_refused": _("Restore from backup refused"),
    "backup.restore_succeeded": _("Restore from backup done"),
    "customer.created": _("Account created"),
    "customer.edited": _("Account details changed"),
    "customer.reactivated": _("Account reactivated"),
    "customer.suspended": _("Account suspended"),
    "devices.instructions_sent": _("Set-up instructions for a device e-mailed"),
    "devices.profile_link": _("Set-up link for a device created"),
    "devices.shared_collections": _("Company calendar and address book switched on or off"),
    "dkim.generate": _("DKIM key created"),
    "dkim.rotate": _("DKIM key rotation started"),
    "dkim.active": _("DKIM key now signs outgoing mail"),
    "dkim.retiring": _("Previous DKIM key stops signing"),
    "dkim.retired": _("Previous DKIM key retired"),
    "dns.settings": _("DMARC and MTA-STS settings changed"),
    "domain.added": _("Domain added"),
    "domain.changed_by_staff": _("Domain changed by support"),
    "domain.removed": _("Domain removed"),
    "domain.claim_removed": _("Unverified domain removed"),
    "domain.routing": _("Domain routing changed"),
    "domain.signature_template": _("Signature template saved"),
    "domain.verified": _("Domain verified"),
    "domainspampolicy.update": _("Spam filter settings of a domain changed"),
    "invitation.cancelled": _("Invitation cancelled"),
    "invitation.sent": _("Invitation sent"),
    "authenticator.removed_by_staff": _("Two-factor method removed by staff"),
    "invoice.credited": _("Invoice credited"),
    "invoice.issued": _("Invoice issued"),
    "invoice.paid": _("Invoice paid"),
    "invoice.reminded": _("Payment reminder sent"),
    "invoice.reopened": _("Invoice reopened"),
    "mandate.created": _("Direct debit authorised"),
    "payment.charged_back": _("Direct debit reversed"),
    "payment.collected": _("Direct debit started"),
    "payment.failed": _("Payment failed"),
    "payment.paid": _("Payment received"),
    "payment.started": _("Online payment started"),
    "refund.created": _("Refund sent"),
    "mailbox.create": _("Mailbox created"),
    "mailbox.delete": _("Mailbox deleted"),
    "mailbox.disable": _("Mailbox disabled"),
    "mailbox.forwarding": _("Forwarding changed"),
    "mailbox.panel_login_off": _("Panel login of a mailbox switched off"),
    "mailbox.panel_login_on": _("Panel login of a mailbox switched on"),
    "mailbox.password": _("Mailbox password changed"),
    "mailbox.purge": _("Mailbox removed for good"),
    "mailbox.restore": _("Mailbox restored"),
    "mailbox.signature": _("Signature saved"),
    "mailbox.signature_clear": _("Own signature removed"),
    "mailbox.webmail_open": _("Webmail opened from the panel"),
    "mailbox.update": _("Mailbox changed"),
    "mailhost.reapply": _("Mail servers updated again"),
    "mailboxspampolicy.update": _("Spam filter settings of a mailbox changed"),
    "member.joined": _("Team member joined"),
    "member.removed": _("Team member removed"),
    "plan.changed": _("Plan changed"),
    "relay.credential.create": _("SMTP relay credential created"),
    "relay.credential.delete": _("SMTP relay credential deleted"),
    "relay.credential.enable": _("SMTP relay credential enabled"),
    "relay.credential.disable": _("SMTP relay credential disabled"),
    "relay.credential.rotate_secret": _("SMTP relay secret replaced"),
    "relay.credential.update": _("SMTP relay credential changed"),
    "spam_list.add": _("Sender added to a spam filter list"),
    "spam_list.remove": _("Sender removed from a spam filter list"),
    "two_factor.required": _("Two-factor authentication required for everyone"),
    "two_factor.optional": _("Two-factor authentication no longer required"),
}


# What each role reads in the activity log: the billing role, nothing of the mail it does not manage;
# members, nothing of the invoices they do not see.
MAIL_ACTION_PREFIXES = (
    "alias.",
    "autoresponder.",
    "backup.",
    "devices.",
    "dkim.",
    "dns.",
    "domain.",
    "domainspampolicy.",
    "mailbox.",
    "mailboxspampolicy.",
    "mailhost.",
    "relay.",
    "spam_list.",
)
INVOICE_ACTION_PREFIXES = ("invoice.", "payment.", "refund.", "mandate.")


class AuditEntryQuerySet(models.QuerySet):
    def visible_to(self, membership) -> "AuditEntryQuerySet":
        """The entries of the member's customer that the member's role may read."""
        entries = self.filter(customer_id=membership.customer_id)
        hidden = {
            Membership.Role.BILLING: MAIL_ACTION_PREFIXES,
            Membership.Role.MEMBER: INVOICE_ACTION_PREFIXES,
        }.get(membership.role, ())
        for prefix in hidden:
            entries = entries.exclude(action__startswith=prefix)
        return entries


class AuditEntry(models.Model):
    """Who changed what, when, from where. Written by service functions only; never edited."""

    class ActorKind(models.TextChoices):
        USER = "user", _("Customer user")
        STAFF = "staff", _("Staff")
        SYSTEM = "system", _("System")

    at = models.DateTimeField(_("when"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_kind = models.CharField(_("actor kind"), max_length=10, choices=ActorKind.choices)
    actor_label = models.CharField(_("actor"), max_length=254, blank=True)
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
        verbose_name=_("customer"),
    )
    action = models.CharField(_("action"), max_length=60, db_index=True)
    object_type = models.CharField(_("object type"), max_length=60, blank=True)
    object_id = models.CharField(_("object id"), max_length=40, blank=True)
    object_repr = models.CharField(_("object"), max_length=254, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["customer", "-at"])]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit log")

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_label} {self.action} {self.object_repr}"

    @property
    def action_label(self) -> str:
        """The action in the reader's language; an action without a label shows its code."""
        return AUDIT_ACTION_LABELS.get(self.action, self.action)


class TwoFactorMethod(Authenticator):
    """allauth's second factor (an app, recovery codes, a security key) under Dutch names in the staff admin,
    where staff remove the method of a customer who lost their phone (tenants/admin.py)."""

    class Meta:
        proxy = True
        verbose_name = _("two-factor method")
        verbose_name_plural = _("two-factor methods")


class SignedInSession(UserSession):
    """allauth's record of a signed-in browser, under Dutch names in the staff admin (tenants/admin.py)."""

    class Meta:
        proxy = True
        verbose_name = _("signed-in session")
        verbose_name_plural = _("signed-in sessions")
