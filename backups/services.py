"""Customer-facing backup operations: restores from snapshots and recently deleted mail. Views, the admin and
management commands call these; the work on the mail host is in jobs.py (run by tasks.py).
"""

import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from mailaccounts.models import Domain, Mailbox
from mailhosts.models import MailHost
from tenants.audit import Actor, record
from tenants.models import Customer

from . import maildir
from .doveadm import DeletedMessage, DoveadmApi, DoveadmError
from .jobs import mb
from .models import BackupAlert, BackupRun, HostDoveadm, Restore, Snapshot, SnapshotMailbox
from .tasks import run_restore_task

GUID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.,=_:-]{0,199}")
TRASH = "Trash"


class NotFound(Exception):
    """The message or snapshot is not there (or not the customer's): the view answers 404."""


class DoveadmUnavailable(Exception):
    """The panel cannot reach the mail host's Dovecot right now."""


# --- staff overview ----------------------------------------------------------------------------------------


def host_health() -> list[dict]:
    """Per enabled host: the last backup, the last successful one, snapshots kept and open alerts."""
    rows = []
    for host in MailHost.objects.filter(enabled=True):
        rows.append(
            {
                "host": host,
                "last": BackupRun.objects.filter(host=host).first(),
                "last_success": BackupRun.objects.filter(
                    host=host, status=BackupRun.Status.SUCCEEDED
                ).first(),
                "snapshots": Snapshot.objects.filter(host=host).count(),
                "alerts": list(BackupAlert.objects.filter(host=host, resolved_at__isnull=True)),
            }
        )
    return rows


# --- restores from snapshots -----------------------------------------------------------------------------


def follow_moved_domain(domain: Domain, previous_customer: Customer, actor: Actor) -> None:
    """A domain moved to another customer (`mailaccounts.services.domains.move_domain`): the snapshots of its
    mailboxes, purged ones too, are the new customer's to see and restore from, no longer the old one's."""
    SnapshotMailbox.objects.filter(customer=previous_customer, home__startswith=f"{domain.name}/").update(
        customer=domain.customer
    )


def snapshots_of(mailbox: Mailbox):
    return (
        SnapshotMailbox.objects.filter(mailbox=mailbox, customer_id=mailbox.customer_id)
        .select_related("snapshot")
        .order_by("-snapshot__taken_at")
    )


def purged_mailboxes(customer: Customer) -> list[dict]:
    """Addresses of the customer's purged mailboxes that backups still hold, with their snapshots."""
    seen: dict[str, dict] = {}
    rows = (
        SnapshotMailbox.objects.for_customer(customer)
        .purged()
        .select_related("snapshot")
        .order_by("address", "-snapshot__taken_at")
    )
    for row in rows:
        seen.setdefault(row.address, {"address": row.address, "snapshots": []})["snapshots"].append(row)
    return list(seen.values())


def free_bytes(mailbox: Mailbox) -> int:
    return max(0, mailbox.quota_bytes - mailbox.used_bytes)


@transaction.atomic
def request_restore(*, actor: Actor, mailbox: Mailbox, source: SnapshotMailbox, folder: str = "") -> Restore:
    """Queue a restore of `source` (a whole mailbox, or one folder) into `mailbox`. Refused with a clear
    message, changing nothing, when the folder is not in that backup, the mail would not fit the quota, or
    the same restore is already waiting or running."""
    if source.customer_id != mailbox.customer_id:
        raise NotFound("a snapshot of another customer")
    if mailbox.deleted_at is not None:
        raise ValidationError(_("This mailbox is deleted: restore the mailbox itself first."), code="deleted")
    if folder:
        maildir.check_folder_name(folder)
        part = source.folder(folder)
        if part is None:
            raise ValidationError(
                _("The backup of this day has no folder “%(folder)s”.") % {"folder": folder}, code="no_folder"
            )
        messages, size = part["messages"], part["bytes"]
    else:
        messages, size = source.messages, source.bytes
    if messages == 0:
        raise ValidationError(_("There are no messages to restore in this backup."), code="empty")
    if size > free_bytes(mailbox):
        raise ValidationError(
            _(
                "This restore needs %(needed)s MB, but the mailbox has only %(free)s MB free. "
                "Make room or raise its quota first."
            )
            % {"needed": mb(size), "free": mb(free_bytes(mailbox))},
            code="quota",
        )
    if Restore.objects.active().filter(mailbox=mailbox, source=source, folder=folder).exists():
        raise ValidationError(_("This restore is already running."), code="running")
    try:
        with transaction.atomic():
            restore = Restore.objects.create(
                customer_id=mailbox.customer_id,
                mailbox=mailbox,
                source=source,
                source_address=source.address,
                snapshot_day=source.snapshot.day,
                folder=folder,
                messages_total=messages,
                bytes_needed=size,
                requested_by=actor.user,
            )
    except IntegrityError:
        raise ValidationError(_("This restore is already running."), code="running") from None
    record(
        actor,
        "backup.restore",
        customer=mailbox.customer,
        obj=mailbox,
        changes={"from": source.address, "day": str(restore.snapshot_day), "folder": folder or "*"},
    )
    queue = mailbox.domain.mailhost.queue
    transaction.on_commit(lambda: run_restore_task.apply_async(args=[restore.pk], queue=queue))
    return restore


# --- recently deleted mail (Dovecot's lazy_expunge) -------------------------------------------------------


def doveadm_api(host: MailHost) -> DoveadmApi:
    endpoint = HostDoveadm.objects.filter(host=host).first()
    if endpoint is None:
        raise DoveadmUnavailable(f"no doveadm HTTP API configured for {host.name}")
    return DoveadmApi(endpoint.url, settings.DOVEADM_API_KEY)


def deleted_messages(*, mailbox: Mailbox, search: str = "") -> list[DeletedMessage]:
    if len(search) > 200 or any(ord(c) < 32 for c in search):
        raise ValidationError(_("Search for at most 200 characters of plain text."), code="search")
    try:
        return doveadm_api(mailbox.domain.mailhost).deleted_messages(mailbox.address, search=search)
    except DoveadmError as error:
        raise DoveadmUnavailable(str(error)) from error


def destination_of(folder: str) -> str:
    """Where a recently deleted message goes back to: its folder; mail deleted from the trash goes to the
    inbox (back in the trash, it would be deleted again)."""
    return maildir.INBOX if folder == TRASH else folder


def restore_deleted_message(*, actor: Actor, mailbox: Mailbox, folder: str, guid: str) -> str:
    """Move one message Dovecot kept after a delete back to the folder it came from; that folder's name."""
    try:
        maildir.check_folder_name(folder)
    except ValidationError:
        raise NotFound("no such folder") from None
    if not GUID.fullmatch(guid):
        raise NotFound("no such message")
    api = doveadm_api(mailbox.domain.mailhost)
    try:
        if api.find_deleted(mailbox.address, folder=folder, guid=guid) is None:
            raise NotFound("no such message")
        destination = destination_of(folder)
        api.move_back(mailbox.address, folder=folder, guid=guid, destination=destination)
    except DoveadmError as error:
        raise DoveadmUnavailable(str(error)) from error
    record(
        actor,
        "backup.deleted_message_restore",
        customer=mailbox.customer,
        obj=mailbox,
        changes={"folder": folder, "to": destination, "message": guid},
    )
    return destination
