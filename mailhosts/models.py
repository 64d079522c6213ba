"""Mail hosts and their revisions.

A mail host runs Postfix, Dovecot and the capabilities' daemons, fed with files rendered from the database.
Every object a mail host needs carries `revision`: the host's desired revision at its last change. It is live
when the host's applied revision has reached it (`MailHost.state_of`).
"""

from pathlib import Path

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class LiveState(models.TextChoices):
    LIVE = "live", _("Live")
    PENDING = "pending", _("Pending")
    FAILED = "failed", _("Failed")


class MailHostQuerySet(models.QuerySet["MailHost"]):
    def default(self) -> "MailHost":
        """The host new domains go to: the one named in settings, created on first use."""
        host, _created = self.get_or_create(
            name=settings.MAILHOST_DEFAULT_NAME,
            defaults={
                "hostname": settings.MAILHOST_DEFAULT_HOSTNAME,
                "queue": f"mailhost.{settings.MAILHOST_DEFAULT_NAME}",
                "config_dir": settings.MAILHOST_DEFAULT_CONFIG_DIR,
            },
        )
        return host


class MailHost(models.Model):
    """A server running Postfix, Dovecot and the DKIM signer, fed with files rendered from the database."""

    name = models.SlugField(_("name"), max_length=60, unique=True)
    hostname = models.CharField(_("host name (MX)"), max_length=253)
    queue = models.CharField(_("Celery queue"), max_length=60)
    config_dir = models.CharField(_("configuration directory"), max_length=500)
    mail_dir = models.CharField(_("mail directory"), max_length=500, blank=True)
    reload_commands = models.JSONField(
        _("reload steps"),
        default=list,
        blank=True,
        help_text=_("Commands run after files change, as lists of arguments."),
    )
    postmap_command = models.JSONField(
        _("postmap command"),
        default=list,
        blank=True,
        help_text=_(
            'How to run postmap on this host, e.g. ["postmap", "-c", "/etc/postfix"]; empty: no postmap.'
        ),
    )
    doveadm_command = models.JSONField(
        _("doveadm command"),
        default=list,
        blank=True,
        help_text=_('How to run doveadm on this host, e.g. ["doveadm"]; empty: usage is measured from disk.'),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    desired_revision = models.BigIntegerField(_("desired revision"), default=0)
    applied_revision = models.BigIntegerField(_("applied revision"), default=0)
    applied_at = models.DateTimeField(_("last applied at"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True)

    objects = MailHostQuerySet.as_manager()

    class Meta:
        db_table = "mailaccounts_mailhost"  # the table it was created as, before mail hosts had their own app
        ordering = ["name"]
        verbose_name = _("mail host")
        verbose_name_plural = _("mail hosts")

    def __str__(self):
        return self.name

    @property
    def mail_root(self) -> Path:
        """Where the mailboxes' folders live: `mail_dir`, or `<config_dir>/mail` for the embedded default."""
        return Path(self.mail_dir) if self.mail_dir else Path(self.config_dir) / "mail"

    # What `state_of` reads; a list that loads each row's host only for its live state defers the rest
    # (`fields_state_ignores`): three JSON columns parsed 50 times a page otherwise.
    STATE_FIELDS = ("id", "applied_revision", "last_error")

    def state_of(self, revision: int) -> str:
        if revision <= self.applied_revision:
            return LiveState.LIVE
        return LiveState.FAILED if self.last_error else LiveState.PENDING


class PendingChange(models.Model):
    """Which part of a host one revision changed: `scope` names it (a domain's name for the mail accounts),
    empty for "anything". The apply renders only the scopes changed since its last revision, when every
    revision in between is accounted for here; otherwise it renders the whole host. Rows at or below the
    applied revision are deleted by the apply that reached them."""

    host = models.ForeignKey(MailHost, on_delete=models.CASCADE, related_name="+")
    revision = models.BigIntegerField()
    scope = models.CharField(max_length=253, blank=True)

    class Meta:
        indexes = [models.Index(fields=["host", "revision"], name="mailhosts_pending_rev")]

    def __str__(self):
        return f"{self.host_id}@{self.revision}: {self.scope or '*'}"


def fields_state_ignores(path: str) -> list[str]:
    """The host's fields that `MailHost.state_of` never reads, under the relation `path` ("domain__mailhost"),
    for `QuerySet.defer()`."""
    return [
        f"{path}__{field.name}"
        for field in MailHost._meta.concrete_fields
        if field.name not in MailHost.STATE_FIELDS
    ]
