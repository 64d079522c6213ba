"""Backups of the mail hosts (restic), the snapshots they hold, restores, and dumps of the panel's database.

The repository is the truth about snapshots; `Snapshot` and `SnapshotMailbox` are the panel's catalogue of
it, refreshed after every backup and `forget`, so pages list days and folders without asking restic. A
`SnapshotMailbox` keeps the customer and address of a mailbox after the mailbox is purged: its mail stays
restorable from backups until the last snapshot holding it expires.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailaccounts.models import Mailbox
from mailhosts.models import MailHost
from tenants.models import Customer


class HostDoveadm(models.Model):
    """Where the panel reaches a mail host's Dovecot (its doveadm HTTP API) for recently deleted mail."""

    host = models.OneToOneField(
        MailHost, on_delete=models.CASCADE, related_name="doveadm_api", verbose_name=_("mail host")
    )
    url = models.URLField(_("doveadm HTTP API"), help_text=_("e.g. http://10.0.0.5:8080/doveadm/v1"))

    class Meta:
        verbose_name = _("doveadm HTTP API")
        verbose_name_plural = _("doveadm HTTP APIs")

    def __str__(self):
        return f"{self.host}: {self.url}"


class BackupRun(models.Model):
    """One backup of one mail host: a snapshot in its repository, then `forget` and prune."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    host = models.ForeignKey(
        MailHost, on_delete=models.CASCADE, related_name="backup_runs", verbose_name=_("mail host")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    snapshot_id = models.CharField(_("snapshot"), max_length=64, blank=True)
    files_new = models.PositiveIntegerField(_("new files"), default=0)
    files_changed = models.PositiveIntegerField(_("changed files"), default=0)
    bytes_total = models.BigIntegerField(_("size"), default=0)
    bytes_added = models.BigIntegerField(_("new data"), default=0)
    warning = models.TextField(_("warning"), blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["host", "-started_at"])]
        verbose_name = _("backup")
        verbose_name_plural = _("backups")

    def __str__(self):
        return f"{self.host} {self.started_at:%Y-%m-%d %H:%M}"

    @property
    def duration(self):
        return self.finished_at - self.started_at if self.finished_at else None


class SnapshotQuerySet(models.QuerySet):
    def for_mailbox(self, mailbox: Mailbox):
        return self.filter(mailboxes__mailbox=mailbox)


class Snapshot(models.Model):
    host = models.ForeignKey(
        MailHost, on_delete=models.CASCADE, related_name="snapshots", verbose_name=_("mail host")
    )
    snapshot_id = models.CharField(_("snapshot"), max_length=64)
    taken_at = models.DateTimeField(_("taken at"))
    paths = models.JSONField(_("paths"), default=list)

    objects = SnapshotQuerySet.as_manager()

    class Meta:
        ordering = ["-taken_at"]
        constraints = [
            models.UniqueConstraint(fields=["host", "snapshot_id"], name="unique_snapshot_per_host")
        ]
        verbose_name = _("snapshot")
        verbose_name_plural = _("snapshots")

    def __str__(self):
        return f"{self.host} {self.taken_at:%Y-%m-%d %H:%M} ({self.snapshot_id[:8]})"

    @property
    def day(self):
        return timezone.localdate(self.taken_at)


class SnapshotMailboxQuerySet(models.QuerySet):
    def for_customer(self, customer):
        return self.filter(customer=customer)

    def purged(self):
        return self.filter(mailbox__isnull=True)


class SnapshotMailbox(models.Model):
    """A mailbox as one snapshot holds it: its folders with their message counts and sizes."""

    snapshot = models.ForeignKey(Snapshot, on_delete=models.CASCADE, related_name="mailboxes")
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer")
    )
    mailbox = models.ForeignKey(Mailbox, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    address = models.CharField(_("address"), max_length=320)
    home = models.CharField(_("folder on the host"), max_length=400)  # "domain/local part", below mail_root
    folders = models.JSONField(_("folders"), default=list)  # [{"name", "messages", "bytes"}] by name
    messages = models.PositiveIntegerField(_("messages"), default=0)
    bytes = models.BigIntegerField(_("size"), default=0)

    objects = SnapshotMailboxQuerySet.as_manager()

    class Meta:
        ordering = ["address", "-snapshot__taken_at"]
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "home"], name="unique_mailbox_per_snapshot")
        ]
        indexes = [models.Index(fields=["customer", "address"])]
        verbose_name = _("mailbox in a snapshot")
        verbose_name_plural = _("mailboxes in snapshots")

    def __str__(self):
        return f"{self.address} @ {self.snapshot}"

    def folder(self, name: str) -> dict | None:
        return next((folder for folder in self.folders if folder["name"] == name), None)


class RestoreQuerySet(models.QuerySet):
    def for_customer(self, customer):
        return self.filter(customer=customer)

    def active(self):
        return self.filter(status__in=[Restore.Status.QUEUED, Restore.Status.RUNNING])


class Restore(models.Model):
    """Mail from a snapshot imported into a new folder `Hersteld <date>` of a mailbox (never overwriting)."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting")
        RUNNING = "running", _("Restoring")
        SUCCEEDED = "succeeded", _("Done")
        FAILED = "failed", _("Failed")
        REFUSED = "refused", _("Refused")

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("customer")
    )
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="backup_restores")
    source = models.ForeignKey(
        SnapshotMailbox,
        on_delete=models.SET_NULL,
        null=True,
        related_name="restores",
        verbose_name=_("from the backup of"),
    )
    source_address = models.CharField(_("from mailbox"), max_length=320)
    snapshot_day = models.DateField(_("backup of"))
    folder = models.CharField(_("folder"), max_length=255, blank=True)  # empty: the whole mailbox
    target_folder = models.CharField(_("restored into"), max_length=255, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    messages_total = models.PositiveIntegerField(_("messages"), default=0)
    messages_done = models.PositiveIntegerField(_("messages restored"), default=0)
    bytes_needed = models.BigIntegerField(_("size"), default=0)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    objects = RestoreQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # The same restore requested twice while the first still runs: refused by the database too.
            models.UniqueConstraint(
                fields=["mailbox", "source", "folder"],
                condition=Q(status__in=["queued", "running"]),
                name="one_active_restore_per_source",
            )
        ]
        verbose_name = _("restore")
        verbose_name_plural = _("restores")

    def __str__(self):
        return f"{self.source_address} {self.snapshot_day} → {self.mailbox}"

    @property
    def percent(self) -> int:
        if self.status == self.Status.SUCCEEDED:
            return 100
        if not self.messages_total:
            return 0
        return min(100, 100 * self.messages_done // self.messages_total)

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)


class BackupAlert(models.Model):
    """A failed or missing nightly backup, shown to staff until a backup of that host succeeds."""

    class Kind(models.TextChoices):
        FAILED = "failed", _("Backup failed")
        MISSING = "missing", _("No recent backup")
        DATABASE = "database", _("Database dump failed or missing")

    host = models.ForeignKey(
        MailHost,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("mail host"),
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    message = models.TextField(_("message"))
    opened_at = models.DateTimeField(_("since"), default=timezone.now)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("backup alert")
        verbose_name_plural = _("backup alerts")

    def __str__(self):
        return f"{self.get_kind_display()}: {self.host or _('panel database')}"


class DatabaseDump(models.Model):
    """A nightly `pg_dump --format=custom` of the panel's own database."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        FAILED = "failed", _("Failed")

    path = models.CharField(_("file"), max_length=500, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    size = models.BigIntegerField(_("size"), default=0)
    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    deleted_at = models.DateTimeField(_("removed at"), null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        verbose_name = _("database dump")
        verbose_name_plural = _("database dumps")

    def __str__(self):
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.path}"


class HostBackup(MailHost):
    """Mail hosts as the staff's backup health page shows them."""

    class Meta:
        proxy = True
        verbose_name = _("backup health")
        verbose_name_plural = _("backup health")
