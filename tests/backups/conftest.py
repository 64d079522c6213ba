"""A catalogue of snapshots as a backup run leaves it (rows only: the fast tests need no restic)."""

import pytest
from django.utils import timezone

from mailaccounts.services import mailboxes as mailbox_services
from tenants.audit import Actor

PASSWORD = "Brood-En-Banket-42"


@pytest.fixture
def make_mailbox(customer, domain):
    def make(local_part="jan", *, on_customer=None, on_domain=None, quota_bytes=100 * 1024 * 1024):
        mailbox, _generated = mailbox_services.create_mailbox(
            actor=Actor.system(),
            customer=on_customer or customer,
            domain=on_domain or domain,
            local_part=local_part,
            quota_bytes=quota_bytes,
            password=PASSWORD,
        )
        return mailbox

    return make


@pytest.fixture
def make_snapshot():
    from backups.models import Snapshot, SnapshotMailbox

    def make(mailbox, *, taken_at=None, folders=None, snapshot_id=None):
        taken_at = taken_at or timezone.now()
        host = mailbox.domain.mailhost
        snapshot = Snapshot.objects.create(
            host=host, snapshot_id=snapshot_id or f"{Snapshot.objects.count() + 1:064x}", taken_at=taken_at
        )
        folders = folders or [
            {"name": "INBOX", "messages": 3, "bytes": 3000},
            {"name": "Werk", "messages": 2, "bytes": 2000},
        ]
        return SnapshotMailbox.objects.create(
            snapshot=snapshot,
            customer=mailbox.customer,
            mailbox=mailbox,
            address=mailbox.address,
            home=f"{mailbox.domain.name}/{mailbox.local_part}",
            folders=folders,
            messages=sum(f["messages"] for f in folders),
            bytes=sum(f["bytes"] for f in folders),
        )

    return make
