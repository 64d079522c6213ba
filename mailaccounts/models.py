"""Domains, mailboxes, aliases, autoresponders and DKIM keys.

Every object the mail hosts need carries `revision`: the host's desired revision at its last change.
It is live when the host's applied revision has reached it (see `LiveState`).
"""

import re

import idna
from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailhosts.models import MailHost
from mailhosts.rendering import is_safe_address
from tenants.addresses import validate_email_address
from tenants.models import Customer

from .dnsproblems import describe_problem

# A label that IDNA decoding returns unchanged: lowercase letters, digits and inner hyphens, not an A-label
# ("xn--") nor any other "??--" label. Lists show a name on every row, so these skip the idna package.
_PLAIN_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def _is_plain(name: str) -> bool:
    return all(_PLAIN_LABEL.fullmatch(label) and label[2:4] != "--" for label in name.split("."))


def unicode_domain_name(name: str) -> str:
    """A domain's name as people read it ("bakkerij-straße.example" for its xn-- form)."""
    # the idna package (IDNA 2008), not Python's codec (IDNA 2003), which cannot decode e.g. "straße"
    if _is_plain(name):
        return name
    try:
        return idna.decode(name)
    except (idna.IDNAError, UnicodeError):
        return name


def undeliverable_addresses(addresses: list[str]) -> list[str]:
    """Those of a forward's or an alias's destinations that the mail host is never given, because they
    cannot be written into its maps (`is_safe_address`): quoted local parts, IP literals.

    The address rule (`tenants.addresses`) refuses them in every form; only rows stored before that rule can
    still hold one. The renderer leaves them out, and the panel shows them as not applied (the forwarding
    card, the alias page, both lists, the dashboard, the staff admin and `manage.py check --database`),
    so a forward is never lost without anyone being told.
    """
    return [address for address in addresses if not is_safe_address(address)]


class DomainQuerySet(models.QuerySet):
    def for_customer(self, customer):
        return self.filter(customer=customer)

    def verified(self):
        return self.filter(verified_at__isnull=False)

    def served(self):
        """Verified domains of customers not closed: the ones the mail hosts receive, store and send for."""
        return self.verified().exclude(customer__status=Customer.Status.CLOSED)


class Domain(models.Model):
    """A customer's mail domain, stored as punycode (ASCII) and shown in Unicode."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="domains", verbose_name=_("customer")
    )
    name = models.CharField(_("domain name"), max_length=253, db_index=True)
    mailhost = models.ForeignKey(
        MailHost, on_delete=models.PROTECT, related_name="domains", verbose_name=_("mail host")
    )
    verification_token = models.CharField(max_length=64, verbose_name=_("verification code"))
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification_checked_at = models.DateTimeField(_("last verification check"), null=True, blank=True)
    catch_all_to = models.ForeignKey(
        "Mailbox",
        verbose_name=_("catch-all delivers to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    postmaster_to = models.ForeignKey(
        "Mailbox",
        verbose_name=_("postmaster@ delivers to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    abuse_to = models.ForeignKey(
        "Mailbox",
        verbose_name=_("abuse@ delivers to"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revision = models.BigIntegerField(default=0, verbose_name=_("revision"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = DomainQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            # Only a verified domain claims its name; unverified claims of several customers may wait
            # side by side until one of them proves it owns the domain (issue 15).
            models.UniqueConstraint(
                fields=["name"],
                condition=models.Q(verified_at__isnull=False),
                name="unique_verified_domain_name",
            ),
            models.UniqueConstraint(fields=["customer", "name"], name="unique_domain_name_per_customer"),
        ]
        verbose_name = _("domain")
        verbose_name_plural = _("domains")

    def __str__(self):
        return self.unicode_name

    @property
    def unicode_name(self) -> str:
        return unicode_domain_name(self.name)

    @property
    def is_verified(self) -> bool:
        return self.verified_at is not None

    @property
    def live_state(self) -> str:
        return self.mailhost.state_of(self.revision)

    @property
    def mailhost_scope(self) -> str:
        """The part of its mail host a change to it touches: its domain (see mailhosts.revisions)."""
        return self.name


class MailboxQuerySet(models.QuerySet):
    def for_customer(self, customer):
        return self.filter(customer=customer)

    def active(self):
        return self.filter(deleted_at__isnull=True)

    def deleted(self):
        return self.filter(deleted_at__isnull=False)


class Mailbox(models.Model):
    """A mailbox: an address that stores mail and signs in over IMAP, POP3 and submission."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="mailboxes", verbose_name=_("customer")
    )
    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="mailboxes", verbose_name=_("domain")
    )
    local_part = models.CharField(_("local part"), max_length=64)
    display_name = models.CharField(_("display name"), max_length=120, blank=True)
    password_hash = models.CharField(max_length=255)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    quota_bytes = models.BigIntegerField(_("quota (bytes)"))
    forward_to = models.JSONField(_("forward to"), default=list, blank=True)
    forward_keep_copy = models.BooleanField(_("keep a copy when forwarding"), default=True)
    used_bytes = models.BigIntegerField(_("used (bytes)"), default=0)
    usage_measured_at = models.DateTimeField(_("usage measured at"), null=True, blank=True)
    quota_warning_level = models.PositiveSmallIntegerField(
        default=0, verbose_name=_("last storage warning (percent)")
    )
    # The mailbox's own user may sign in to the panel with the mailbox address and password and manage
    # this one mailbox (mailaccounts.access.own_mailbox). On by default: that password already opens all
    # the mail; the panel adds only this mailbox's own settings, never other mailboxes or the account.
    panel_login_enabled = models.BooleanField(_("own panel login"), default=True)
    deleted_at = models.DateTimeField(_("deleted at"), null=True, blank=True)
    revision = models.BigIntegerField(default=0, verbose_name=_("revision"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = MailboxQuerySet.as_manager()

    class Meta:
        ordering = ["domain__name", "local_part"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "local_part"], name="unique_mailbox_address")
        ]
        indexes = [models.Index(fields=["customer", "local_part"])]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")

    def __str__(self):
        return self.address

    @property
    def address(self) -> str:
        return f"{self.local_part}@{self.domain.name}"

    @property
    def unicode_address(self) -> str:
        return f"{self.local_part}@{self.domain.unicode_name}"

    @property
    def undeliverable_forwards(self) -> list[str]:
        """Forwards the mail host never gets (see `undeliverable_addresses`): shown as not applied."""
        return undeliverable_addresses(self.forward_to or [])

    @property
    def live_state(self) -> str:
        return self.domain.mailhost.state_of(self.revision)

    @property
    def mailhost_scope(self) -> str:
        """The part of its mail host a change to it touches: its domain (see mailhosts.revisions)."""
        return self.domain.name

    @property
    def login_scope(self) -> str:
        """The part a change to its login alone (password, quota) touches: its own line of Dovecot's users,
        named by its address (`mailhosts.rendering.is_user_scope`), so the change does not cost its domain."""
        return self.address


class MailboxUser(models.Model):
    """The panel login of a mailbox's own user: a `panel.User` limited to this one mailbox.

    Made (or refreshed) at sign-in by `mailaccounts.auth.MailboxBackend` when the mailbox address and
    password are right; the user has no membership and no usable password of its own (the mailbox's
    Dovecot hash is the only password). Purging the mailbox deletes the user with it.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="mailbox_login"
    )
    mailbox = models.OneToOneField(Mailbox, on_delete=models.CASCADE, related_name="login")
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_login_at = models.DateTimeField(_("last signed in"), null=True, blank=True)

    class Meta:
        verbose_name = _("mailbox login")
        verbose_name_plural = _("mailbox logins")

    def __str__(self):
        return str(self.mailbox)


class AliasQuerySet(models.QuerySet):
    def for_customer(self, customer):
        return self.filter(customer=customer)


class Alias(models.Model):
    """An address that delivers to one or more destinations: the customer's mailboxes or external addresses."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="aliases", verbose_name=_("customer")
    )
    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="aliases", verbose_name=_("domain")
    )
    local_part = models.CharField(_("local part"), max_length=64)
    destinations = models.JSONField(_("destinations"), default=list)
    is_enabled = models.BooleanField(_("enabled"), default=True)
    revision = models.BigIntegerField(default=0, verbose_name=_("revision"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = AliasQuerySet.as_manager()

    class Meta:
        ordering = ["domain__name", "local_part"]
        constraints = [models.UniqueConstraint(fields=["domain", "local_part"], name="unique_alias_address")]
        indexes = [models.Index(fields=["customer", "local_part"])]
        verbose_name = _("alias")
        verbose_name_plural = _("aliases")

    def __str__(self):
        return self.address

    @property
    def address(self) -> str:
        return f"{self.local_part}@{self.domain.name}"

    @property
    def undeliverable_destinations(self) -> list[str]:
        """Destinations the mail host never gets (see `undeliverable_addresses`): shown as not applied."""
        return undeliverable_addresses(self.destinations or [])

    @property
    def live_state(self) -> str:
        return self.domain.mailhost.state_of(self.revision)

    @property
    def mailhost_scope(self) -> str:
        """The part of its mail host a change to it touches: its domain (see mailhosts.revisions)."""
        return self.domain.name


class Autoresponder(models.Model):
    """A mailbox's out-of-office reply, rendered to a Sieve vacation script."""

    mailbox = models.OneToOneField(Mailbox, on_delete=models.CASCADE, related_name="autoresponder")
    is_enabled = models.BooleanField(_("enabled"), default=False)
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"), max_length=10_000)
    starts_at = models.DateTimeField(_("from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    interval_days = models.PositiveSmallIntegerField(_("days between replies to the same sender"), default=1)
    revision = models.BigIntegerField(default=0, verbose_name=_("revision"))
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("autoresponder")
        verbose_name_plural = _("autoresponders")

    def __str__(self):
        return f"{self.mailbox}: {self.subject}"

    @property
    def live_state(self) -> str:
        return self.mailbox.domain.mailhost.state_of(self.revision)

    @property
    def mailhost_scope(self) -> str:
        """The part of its mail host a change to it touches: its domain (see mailhosts.revisions)."""
        return self.mailbox.domain.name

    def schedule_state(self, now=None) -> str:
        """ "off", "scheduled" (switched on, starts later), "on" (answering now) or "ended" (its end has passed)."""
        now = now or timezone.now()
        if not self.is_enabled:
            return "off"
        if self.starts_at and self.starts_at > now:
            return "scheduled"
        if self.ends_at and self.ends_at <= now:
            return "ended"
        return "on"


class DkimKey(models.Model):
    """A DKIM key of a domain. The private key is stored encrypted (see mailaccounts.crypto)."""

    class Algorithm(models.TextChoices):
        RSA = "rsa", _("RSA 2048")
        ED25519 = "ed25519", _("Ed25519")

    class State(models.TextChoices):
        PUBLISH = "publish", _("To publish")
        ACTIVE = "active", _("Signing")
        RETIRING = "retiring", _("Retiring")
        RETIRED = "retired", _("Retired")

    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="dkim_keys", verbose_name=_("domain")
    )
    selector = models.CharField(_("selector"), max_length=63)
    algorithm = models.CharField(
        _("algorithm"), max_length=10, choices=Algorithm.choices, default=Algorithm.RSA
    )
    private_key_encrypted = models.TextField()
    public_key = models.TextField(_("public key (base64)"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PUBLISH)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    activated_at = models.DateTimeField(_("signing since"), null=True, blank=True)
    retiring_at = models.DateTimeField(_("retiring since"), null=True, blank=True)
    retired_at = models.DateTimeField(_("retired at"), null=True, blank=True)
    revision = models.BigIntegerField(default=0, verbose_name=_("revision"))

    class Meta:
        ordering = ["domain__name", "-created_at"]
        constraints = [models.UniqueConstraint(fields=["domain", "selector"], name="unique_dkim_selector")]
        verbose_name = _("DKIM key")
        verbose_name_plural = _("DKIM keys")

    def __str__(self):
        return f"{self.selector}._domainkey.{self.domain.name}"

    @property
    def live_state(self) -> str:
        """Whether the mail host applied this key's latest change (a switch to signing, to retiring)."""
        return self.domain.mailhost.state_of(self.revision)

    @property
    def mailhost_scope(self) -> str:
        """The part of its mail host a change to it touches: its domain (see mailhosts.revisions)."""
        return self.domain.name

    @property
    def is_signing(self) -> bool:
        """Signing for real: active in the database and that change applied on the mail host."""
        return self.state == self.State.ACTIVE and self.live_state == "live"


class DmarcPolicy(models.TextChoices):
    NONE = "none", _("none: only report")
    QUARANTINE = "quarantine", _("quarantine: junk folder")
    REJECT = "reject", _("reject: refuse the message")


class MtaStsMode(models.TextChoices):
    TESTING = "testing", _("testing: only report")
    ENFORCE = "enforce", _("enforce: refuse delivery without valid TLS")


class DomainDnsSettings(models.Model):
    """The customer's choices for the DNS records we tell them to publish (DMARC, MTA-STS)."""

    domain = models.OneToOneField(
        Domain, on_delete=models.CASCADE, related_name="dns_settings", verbose_name=_("domain")
    )
    dmarc_policy = models.CharField(
        _("DMARC policy"), max_length=12, choices=DmarcPolicy, default=DmarcPolicy.NONE
    )
    dmarc_report_email = models.EmailField(
        _("reporting address"),
        blank=True,
        validators=[validate_email_address],
        help_text=_("Aggregate DMARC and TLS reports go here. Empty: postmaster@ of the domain."),
    )
    mta_sts_mode = models.CharField(
        _("MTA-STS mode"), max_length=10, choices=MtaStsMode, default=MtaStsMode.TESTING
    )
    dns_checked_at = models.DateTimeField(_("DNS last checked at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("DNS settings")
        verbose_name_plural = _("DNS settings")

    def __str__(self):
        return str(self.domain)


class DnsCheckStatus(models.TextChoices):
    OK = "ok", _("OK")
    MISSING = "missing", _("Missing")
    WRONG = "wrong", _("Wrong")
    CONFLICTING = "conflicting", _("Conflicting")
    UNREACHABLE = "unreachable", _("Could not check")


class DnsCheckResultQuerySet(models.QuerySet):
    def problems(self):
        return self.exclude(status=DnsCheckStatus.OK)


class DnsCheckResult(models.Model):
    """The last live check of one record a domain should publish (see mailaccounts.dnscheck)."""

    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="dns_results", verbose_name=_("domain")
    )
    record_key = models.CharField(_("record"), max_length=100)
    name = models.CharField(_("name"), max_length=300)
    rtype = models.CharField(_("type"), max_length=10)
    status = models.CharField(_("status"), max_length=12, choices=DnsCheckStatus)
    expected = models.TextField(_("expected"), blank=True)
    found = models.JSONField(_("found"), default=list, blank=True)
    problems = models.JSONField(_("problems"), default=list, blank=True)
    checked_at = models.DateTimeField(_("checked at"), default=timezone.now)
    ok_since = models.DateTimeField(_("ok since"), null=True, blank=True)

    objects = DnsCheckResultQuerySet.as_manager()

    class Meta:
        ordering = ["domain__name", "record_key"]
        constraints = [
            models.UniqueConstraint(fields=["domain", "record_key"], name="unique_dns_result_per_record")
        ]
        verbose_name = _("DNS check result")
        verbose_name_plural = _("DNS check results")

    def __str__(self):
        return f"{self.name} {self.rtype}: {self.status}"

    @property
    def problem_messages(self) -> list[str]:
        return [describe_problem(problem) for problem in self.problems]


class MailboxSignature(models.Model):
    """A mailbox's e-mail signature: plain text and, optionally, HTML limited to safe tags (sanitised on save,
    services/signatures.py). Webmail puts it on the mailbox's default identity; the device page shows it for
    copying into a mail program. A mailbox without one uses its domain's template, filled in."""

    mailbox = models.OneToOneField(Mailbox, on_delete=models.CASCADE, related_name="signature")
    name = models.CharField(_("name"), max_length=120, blank=True)
    phone = models.CharField(_("phone number"), max_length=40, blank=True)
    text = models.TextField(_("signature (plain text)"), blank=True)
    html = models.TextField(_("signature (formatted)"), blank=True)
    revision = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")

    def __str__(self):
        return str(self.mailbox)

    @property
    def live_state(self) -> str:
        return self.mailbox.domain.mailhost.state_of(self.revision)

    @property
    def mailhost_scope(self) -> str:
        """Its domain: webmail's signature files are rendered by domain (webmail/rendering.py)."""
        return self.mailbox.domain.name


class DomainSignatureTemplate(models.Model):
    """The owner's signature template for a domain, with placeholders {name}, {address} and {phone}, that its
    mailboxes start from (and use, filled in, until they have a signature of their own)."""

    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="signature_template")
    text = models.TextField(_("template (plain text)"), blank=True)
    html = models.TextField(_("template (formatted)"), blank=True)
    revision = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("signature template")
        verbose_name_plural = _("signature templates")

    def __str__(self):
        return str(self.domain)

    @property
    def live_state(self) -> str:
        return self.domain.mailhost.state_of(self.revision)

    @property
    def mailhost_scope(self) -> str:
        """Its domain, whose mailboxes without a signature of their own sign with it."""
        return self.domain.name
