"""The spam filter's settings (per domain, per mailbox), allow and block lists, and what it did.

Settings and list entries carry `revision` like every object the mail hosts need: the domain's or mailbox's
policy is live when the host's applied revision has reached it. A list change marks its owner's policy
changed, so the list pages show one Live/Pending/Failed state.

`SpamResult`, `LearnEvent` and `OutboundFlag` are read from the mail hosts' logs (scanlog.py): what rspamd
did with each message, what users taught it, and logins that sent spam repeatedly.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailaccounts.models import Domain, Mailbox
from mailhosts.models import MailHost
from tenants.models import Customer

from .reasons import main_reasons


class Sensitivity(models.TextChoices):
    RELAXED = "relaxed", _("Relaxed")
    NORMAL = "normal", _("Normal")
    STRICT = "strict", _("Strict")


# Junk folder from this score (the X-Spamd-Bar has one "+" per whole point; see rendering.py).
JUNK_SCORE = {Sensitivity.RELAXED: 10, Sensitivity.NORMAL: 6, Sensitivity.STRICT: 4}
DEFAULT_REJECT_SCORE = 15
MIN_REJECT_SCORE = 5
MAX_REJECT_SCORE = 50
# Score-based refusing is off (the filter is off): a threshold no message reaches. Block lists still refuse.
NEVER_REJECT_SCORE = 1000
DEFAULT_JUNK_DAYS = 30
MAX_JUNK_DAYS = 365


class PolicyFields(models.Model):
    is_enabled = models.BooleanField(_("spam filter on"), default=True)
    sensitivity = models.CharField(
        _("sensitivity"), max_length=10, choices=Sensitivity, default=Sensitivity.NORMAL
    )
    reject_score = models.PositiveSmallIntegerField(_("refuse from score"), default=DEFAULT_REJECT_SCORE)
    revision = models.BigIntegerField(_("revision"), default=0)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        abstract = True

    @property
    def junk_score(self) -> int:
        return JUNK_SCORE[Sensitivity(self.sensitivity)]


class DomainSpamPolicy(PolicyFields):
    """A domain's spam filter settings; its mailboxes inherit them unless they override."""

    domain = models.OneToOneField(
        Domain, on_delete=models.CASCADE, related_name="spam_policy", verbose_name=_("domain")
    )

    class Meta:
        verbose_name = _("domain spam filter")
        verbose_name_plural = _("domain spam filters")

    def __str__(self):
        return str(self.domain)

    @property
    def live_state(self) -> str:
        return self.domain.mailhost.state_of(self.revision)

    @property
    def mailhost_scope(self) -> str:
        """The part of its mail host a change to it touches: its domain (see mailhosts.revisions)."""
        return self.domain.name


class MailboxSpamPolicy(PolicyFields):
    """A mailbox's spam filter: the domain's settings or its own, and how long Junk keeps mail."""

    mailbox = models.OneToOneField(Mailbox, on_delete=models.CASCADE, related_name="spam_policy")
    inherits = models.BooleanField(_("use the domain's settings"), default=True)
    junk_days = models.PositiveSmallIntegerField(
        _("days the Junk folder keeps mail"), default=DEFAULT_JUNK_DAYS
    )

    class Meta:
        verbose_name = _("mailbox spam filter")
        verbose_name_plural = _("mailbox spam filters")

    def __str__(self):
        return str(self.mailbox)

    @property
    def live_state(self) -> str:
        return self.mailbox.domain.mailhost.state_of(self.revision)

    @property
    def mailhost_scope(self) -> str:
        """The part of its mail host a change to it touches: its domain (see mailhosts.revisions)."""
        return self.mailbox.domain.name


class ListKind(models.TextChoices):
    ALLOW = "allow", _("Allow list")
    BLOCK = "block", _("Block list")


class SenderListEntry(models.Model):
    """An address (`jan@example.nl`) or domain (`@example.nl`) on a domain's or a mailbox's list."""

    domain = models.ForeignKey(
        Domain, on_delete=models.CASCADE, related_name="spam_list_entries", verbose_name=_("domain")
    )
    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.CASCADE, null=True, blank=True, related_name="spam_list_entries"
    )
    kind = models.CharField(_("list"), max_length=5, choices=ListKind)
    value = models.CharField(_("address or @domain"), max_length=320)
    created_at = models.DateTimeField(_("added at"), default=timezone.now)

    class Meta:
        ordering = ["kind", "value"]
        constraints = [
            models.UniqueConstraint(
                fields=["domain", "value"],
                condition=models.Q(mailbox__isnull=True),
                name="spam_entry_unique_per_domain",
            ),
            models.UniqueConstraint(fields=["mailbox", "value"], name="spam_entry_unique_per_mailbox"),
        ]
        verbose_name = _("allow or block list entry")
        verbose_name_plural = _("allow and block list entries")

    def __str__(self):
        return f"{self.get_kind_display()}: {self.value}"


class Verdict(models.TextChoices):
    DELIVERED = "delivered", _("Delivered")
    JUNK = "junk", _("Filed as spam")
    REFUSED = "refused", _("Refused")


class Direction(models.TextChoices):
    INBOUND = "in", _("Incoming")
    OUTBOUND = "out", _("Outgoing")


class SpamResultQuerySet(models.QuerySet):
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(Verdict.values, 0)
        counts.update(dict(self.values_list("verdict").annotate(n=models.Count("id")).order_by()))
        return counts


class SpamResult(models.Model):
    """What rspamd did with one message for one recipient (inbound) or for its sender's login (outbound)."""

    host = models.CharField(_("mail host"), max_length=100)
    queue_id = models.CharField(_("queue id"), max_length=32)
    at = models.DateTimeField(_("at"))
    direction = models.CharField(_("direction"), max_length=3, choices=Direction)
    sender = models.CharField(_("sender"), max_length=320, blank=True)
    recipient = models.CharField(_("recipient"), max_length=320, blank=True)
    login = models.CharField(_("SMTP user"), max_length=320, blank=True)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer"),
    )
    domain = models.ForeignKey(
        Domain, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("domain")
    )
    mailbox = models.ForeignKey(Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    verdict = models.CharField(_("result"), max_length=10, choices=Verdict)
    score = models.DecimalField(_("score"), max_digits=8, decimal_places=2)
    symbols = models.JSONField(_("rspamd symbols"), default=dict, blank=True)
    line_key = models.BigIntegerField(unique=True, verbose_name=_("log line key"))

    objects = SpamResultQuerySet.as_manager()

    class Meta:
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["mailbox", "at"], name="spamresult_mailbox_at"),
            models.Index(fields=["domain", "at"], name="spamresult_domain_at"),
            models.Index(fields=["customer", "-at"], name="spamresult_customer_at"),
            models.Index(fields=["host", "queue_id"], name="spamresult_queue_id"),
            models.Index(fields=["login", "at"], name="spamresult_login_at"),
        ]
        verbose_name = _("spam filter result")
        verbose_name_plural = _("spam filter results")

    def __str__(self):
        return f"{self.queue_id} {self.recipient or self.login}: {self.verdict}"

    @property
    def reasons(self) -> list[str]:
        return main_reasons(self.symbols)


class LearnEvent(models.Model):
    """A user moved a message into Junk (spam) or out of it (ham); rspamd learned it or skipped it."""

    class Kind(models.TextChoices):
        SPAM = "spam", _("spam")
        HAM = "ham", _("not spam")

    at = models.DateTimeField(_("at"))
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("taught as"), max_length=4, choices=Kind.choices)
    learned = models.BooleanField(_("learned"))
    line_key = models.BigIntegerField(unique=True)

    class Meta:
        indexes = [models.Index(fields=["mailbox", "at"], name="spamlearn_mailbox_at")]
        verbose_name = _("learning from the Junk folder")
        verbose_name_plural = _("learning from the Junk folder")

    def __str__(self):
        return f"{self.mailbox_id}: {self.kind}"


class OutboundFlag(models.Model):
    """A login (mailbox or relay credential) whose outgoing mail was refused as spam repeatedly."""

    login = models.CharField(_("SMTP user"), max_length=320)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("customer"),
    )
    mailbox = models.ForeignKey(Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    refused = models.PositiveIntegerField(_("refused in the hour"))
    first_refused_at = models.DateTimeField(_("first refused at"))
    flagged_at = models.DateTimeField(_("flagged at"), default=timezone.now)
    owners_notified_at = models.DateTimeField(_("owners e-mailed at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    note = models.TextField(_("staff note"), blank=True)

    class Meta:
        ordering = ["-flagged_at"]
        indexes = [models.Index(fields=["login", "resolved_at"], name="spamflag_login_open")]
        verbose_name = _("outgoing spam flag")
        verbose_name_plural = _("outgoing spam flags")

    def __str__(self):
        return self.login


class SpamHost(models.Model):
    """rspamd on one mail host: where its logs are, how to ask its status, and what it said last."""

    mailhost = models.OneToOneField(
        MailHost, on_delete=models.CASCADE, related_name="spam_host", verbose_name=_("mail host")
    )
    scan_log = models.CharField(_("rspamd log file"), max_length=500)
    learn_log = models.CharField(_("learning log file"), max_length=500, blank=True)
    controller_url = models.CharField(
        _("rspamd controller"), max_length=200, default="http://127.0.0.1:11334"
    )
    scan_inode = models.BigIntegerField(default=0, verbose_name=_("scan log inode"))
    scan_offset = models.BigIntegerField(default=0, verbose_name=_("scan log position"))
    learn_inode = models.BigIntegerField(default=0, verbose_name=_("learning log inode"))
    learn_offset = models.BigIntegerField(default=0, verbose_name=_("learning log position"))
    status_checked_at = models.DateTimeField(_("status checked at"), null=True, blank=True)
    is_up = models.BooleanField(_("running"), null=True)
    status = models.JSONField(_("status"), default=dict, blank=True)
    status_error = models.TextField(_("status error"), blank=True)

    class Meta:
        verbose_name = _("rspamd on a mail host")
        verbose_name_plural = _("rspamd on the mail hosts")

    def __str__(self):
        return str(self.mailhost)
