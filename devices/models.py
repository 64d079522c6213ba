"""What clients connect to on each mail host, the domains' shared calendars and address books, and the
one-time links to Apple configuration profiles."""

import hashlib
from pathlib import Path

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailaccounts.models import Domain, Mailbox
from mailhosts.models import MailHost


class ClientEndpoints(models.Model):
    """The names and ports a mail program or phone uses for one mail host (the standard ports unless staff
    say otherwise; the local mail stack records its loopback ports here)."""

    mailhost = models.OneToOneField(
        MailHost, on_delete=models.CASCADE, related_name="client_endpoints", verbose_name=_("mail host")
    )
    hostname = models.CharField(
        _("host name for clients"),
        max_length=253,
        blank=True,
        help_text=_("Empty: the mail host's own name (MX)."),
    )
    imaps_port = models.PositiveIntegerField(_("IMAP port (SSL/TLS)"), default=993)
    imap_port = models.PositiveIntegerField(_("IMAP port (STARTTLS)"), default=143)
    pop3s_port = models.PositiveIntegerField(_("POP3 port (SSL/TLS)"), default=995)
    pop3_port = models.PositiveIntegerField(_("POP3 port (STARTTLS)"), default=110)
    submissions_port = models.PositiveIntegerField(_("SMTP port (SSL/TLS)"), default=465)
    submission_port = models.PositiveIntegerField(_("SMTP port (STARTTLS)"), default=587)
    dav_port = models.PositiveIntegerField(_("CalDAV/CardDAV port (HTTPS)"), default=443)
    dav_storage_dir = models.CharField(
        _("Radicale storage folder"),
        max_length=500,
        default="/var/lib/radicale/collections",
        help_text=_("Where the host's calendars and address books are stored; part of its backups."),
    )

    class Meta:
        verbose_name = _("client settings of a mail host")
        verbose_name_plural = _("client settings of mail hosts")

    def __str__(self):
        return self.server

    @property
    def server(self) -> str:
        return self.hostname or self.mailhost.hostname

    @property
    def dav_url(self) -> str:
        port = "" if self.dav_port == 443 else f":{self.dav_port}"
        return f"https://{self.server}{port}/"

    @property
    def storage_path(self) -> Path:
        return Path(self.dav_storage_dir)


class SharedCollections(models.Model):
    """A domain's company calendar and address book, which every mailbox of the domain reads and writes."""

    domain = models.OneToOneField(
        Domain, on_delete=models.CASCADE, related_name="shared_collections", verbose_name=_("domain")
    )
    is_enabled = models.BooleanField(_("shared calendar and address book"), default=False)
    revision = models.BigIntegerField(default=0, verbose_name=_("revision"))
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("shared calendar and address book")
        verbose_name_plural = _("shared calendars and address books")

    def __str__(self):
        return str(self.domain)

    @property
    def live_state(self) -> str:
        return self.domain.mailhost.state_of(self.revision)

    @property
    def mailhost_scope(self) -> str:
        """The part of its mail host a change to it touches: its domain (see mailhosts.revisions)."""
        return self.domain.name


class ProfileLinkQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(used_at__isnull=True, expires_at__gt=timezone.now())


class ProfileLink(models.Model):
    """A one-time, expiring download link to a mailbox's signed configuration profile (the QR code on the
    device page). Only a hash of its token is stored."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="profile_links")
    token_hash = models.CharField(max_length=64, unique=True, verbose_name=_("code (hashed)"))
    created_at = models.DateTimeField(default=timezone.now, verbose_name=_("created at"))
    expires_at = models.DateTimeField(verbose_name=_("expires at"))
    used_at = models.DateTimeField(null=True, blank=True, verbose_name=_("used at"))

    objects = ProfileLinkQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("profile link")
        verbose_name_plural = _("profile links")

    def __str__(self):
        return f"{self.mailbox} {self.created_at:%Y-%m-%d %H:%M}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
