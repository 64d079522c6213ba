"""The restore pages: choosing a day and a folder, the checks that refuse a restore up front (changing
nothing), the progress, and tenancy (another customer's mailbox, snapshot or restore is a 404)."""

import pytest

from backups.models import Restore

pytestmark = pytest.mark.django_db


@pytest.fixture
def mailbox(make_mailbox):
    return make_mailbox("jan")


def post_restore(client, mailbox, source, folder="", capture=None):
    day = source.snapshot.day.isoformat()
    return client.post(f"/mailboxes/{mailbox.pk}/backups/restore/", {"day": day, "folder": folder})


def test_the_page_lists_the_days_and_then_the_folders_of_the_chosen_day(owner_client, mailbox, make_snapshot):
    source = make_snapshot(mailbox)
    page = owner_client.get(f"/mailboxes/{mailbox.pk}/backups/restore/")
    assert source.snapshot.day.isoformat() in page.content.decode()
    chosen = owner_client.get(
        f"/mailboxes/{mailbox.pk}/backups/restore/", {"day": source.snapshot.day.isoformat()}
    )
    assert chosen.context["source"] == source
    assert 'value="Werk"' in chosen.content.decode()


def test_a_restore_is_queued_audited_and_shown(
    owner_client, mailbox, make_snapshot, customer, django_capture_on_commit_callbacks
):
    from tenants.models import AuditEntry

    source = make_snapshot(mailbox)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = post_restore(owner_client, mailbox, source, "Werk")
    restore = Restore.objects.get()
    assert response.status_code == 302 and response["Location"].endswith(f"/restores/{restore.pk}/")
    assert (restore.folder, restore.status, restore.messages_total, restore.bytes_needed) == (
        "Werk",
        "queued",
        2,
        2000,
    )
    assert len(callbacks) == 1  # the task goes to the host's queue after commit
    assert AuditEntry.objects.filter(customer=customer, action="backup.restore").count() == 1
    progress = owner_client.get(f"/mailboxes/{mailbox.pk}/backups/restores/{restore.pk}/progress/").json()
    assert progress == {
        "status": "queued",
        "status_label": "Waiting",
        "percent": 0,
        "done": 0,
        "total": 2,
        "target_folder": "",
        "error": "",
        "finished": False,
    }
    detail = owner_client.get(f"/mailboxes/{mailbox.pk}/backups/restores/{restore.pk}/")
    assert "restore-progress.js" in detail.content.decode()


@pytest.mark.parametrize(
    ("folder", "message"),
    [
        ("Werk/../INBOX", "cannot start with"),
        ("/Werk", "cannot start with"),
        ("Werk\x07", "control characters"),
        ("x" * 1000, "at most 255 characters"),
        ("Privé", "has no folder"),
    ],
)
def test_a_bad_folder_gets_a_clear_message_and_changes_nothing(
    owner_client, mailbox, make_snapshot, folder, message
):
    source = make_snapshot(mailbox)
    response = post_restore(owner_client, mailbox, source, folder)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Restore.objects.exists()


def test_a_day_without_a_backup_gets_a_clear_message(owner_client, mailbox, make_snapshot):
    make_snapshot(mailbox)
    response = owner_client.post(
        f"/mailboxes/{mailbox.pk}/backups/restore/", {"day": "2020-01-01", "folder": ""}
    )
    assert "There is no backup of 2020-01-01" in response.content.decode()
    dutch = owner_client.get(
        f"/mailboxes/{mailbox.pk}/backups/restore/", {"day": "2020-01-01"}, HTTP_ACCEPT_LANGUAGE="nl"
    )
    assert "Er is geen back-up van 2020-01-01" in dutch.content.decode()
    assert not Restore.objects.exists()


def test_a_restore_that_does_not_fit_the_quota_is_refused_with_the_size_it_needs(
    owner_client, mailbox, make_snapshot
):
    source = make_snapshot(mailbox, folders=[{"name": "INBOX", "messages": 900, "bytes": 30 * 1024 * 1024}])
    mailbox.used_bytes = 80 * 1024 * 1024
    mailbox.save(update_fields=["used_bytes"])
    response = post_restore(owner_client, mailbox, source)
    assert "This restore needs 30 MB, but the mailbox has only 20 MB free." in response.content.decode()
    assert not Restore.objects.exists()


def test_the_same_restore_started_twice_is_refused_while_the_first_runs(
    owner_client, mailbox, make_snapshot, django_capture_on_commit_callbacks
):
    source = make_snapshot(mailbox)
    with django_capture_on_commit_callbacks(execute=False):
        post_restore(owner_client, mailbox, source)
        again = post_restore(owner_client, mailbox, source)
    assert "This restore is already running." in again.content.decode()
    assert Restore.objects.count() == 1


def test_members_restore_and_the_billing_role_may_not(
    member_client, mailbox, make_snapshot, customer, django_capture_on_commit_callbacks
):
    from django.test import Client

    from tenants.models import Membership
    from tests.conftest import make_user

    source = make_snapshot(mailbox)
    with django_capture_on_commit_callbacks(execute=False):
        assert post_restore(member_client, mailbox, source).status_code == 302
    books = make_user("books@example.com")
    Membership.objects.create(user=books, customer=customer, role=Membership.Role.BILLING)
    client = Client()
    client.force_login(books)
    assert client.get(f"/mailboxes/{mailbox.pk}/backups/restore/").status_code == 403
    assert client.get(f"/mailboxes/{mailbox.pk}/backups/deleted/").status_code == 403


def test_every_backup_url_of_another_customer_is_a_404(
    owner_client, outsider_client, mailbox, make_snapshot, make_mailbox, django_capture_on_commit_callbacks
):
    from mailaccounts.services.mailboxes import delete_mailbox, purge_mailbox
    from tenants.audit import Actor

    source = make_snapshot(mailbox)
    leaver = make_mailbox("weg")
    purged_source = make_snapshot(leaver)
    delete_mailbox(actor=Actor.system(), mailbox=leaver)
    purge_mailbox(mailbox=leaver)
    with django_capture_on_commit_callbacks(execute=False):
        post_restore(owner_client, mailbox, source)
    restore = Restore.objects.get()
    day = source.snapshot.day.isoformat()
    urls = [
        ("get", f"/mailboxes/{mailbox.pk}/backups/deleted/", {}),
        (
            "post",
            f"/mailboxes/{mailbox.pk}/backups/deleted/restore/",
            {"folder": "INBOX", "guid": "1.M1P1.host"},
        ),
        ("get", f"/mailboxes/{mailbox.pk}/backups/restore/", {"day": day}),
        ("post", f"/mailboxes/{mailbox.pk}/backups/restore/", {"day": day, "folder": ""}),
        ("get", f"/mailboxes/{mailbox.pk}/backups/restores/{restore.pk}/", {}),
        ("get", f"/mailboxes/{mailbox.pk}/backups/restores/{restore.pk}/progress/", {}),
        ("get", f"/backups/removed/{purged_source.pk}/", {}),
        ("post", f"/backups/removed/{purged_source.pk}/", {"mailbox": mailbox.pk, "folder": ""}),
    ]
    for method, url, data in urls:
        assert getattr(outsider_client, method)(url, data).status_code == 404, url
    assert Restore.objects.count() == 1
    # the outsider's own mailbox with the customer's restore or snapshot ids is a 404 too
    outsider_overview = outsider_client.get("/backups/")
    assert leaver.address not in outsider_overview.content.decode()


def test_a_purged_mailbox_stays_restorable_into_another_mailbox(
    owner_client, customer, mailbox, make_mailbox, make_snapshot, django_capture_on_commit_callbacks
):
    from mailaccounts.services.mailboxes import delete_mailbox, purge_mailbox
    from tenants.audit import Actor

    leaver = make_mailbox("weg")
    source = make_snapshot(leaver)
    delete_mailbox(actor=Actor.system(), mailbox=leaver)
    purge_mailbox(mailbox=leaver)
    source.refresh_from_db()
    assert source.mailbox is None and source.address == leaver.address
    overview = owner_client.get("/backups/")
    assert leaver.address in overview.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = owner_client.post(
            f"/backups/removed/{source.pk}/", {"mailbox": mailbox.pk, "folder": "Werk"}
        )
    restore = Restore.objects.get()
    assert response.status_code == 302
    assert (restore.mailbox, restore.source_address, restore.folder) == (mailbox, leaver.address, "Werk")


def test_the_navigation_and_the_mailbox_page_lead_to_backups(owner_client, mailbox):
    assert 'href="/backups/"' in owner_client.get("/").content.decode()
    page = owner_client.get(f"/mailboxes/{mailbox.pk}/").content.decode()
    assert (
        f"/mailboxes/{mailbox.pk}/backups/deleted/" in page
        and f"/mailboxes/{mailbox.pk}/backups/restore/" in page
    )


def test_staff_start_any_restore_a_customer_can(
    staff_client, mailbox, make_snapshot, django_capture_on_commit_callbacks
):
    from tenants.models import AuditEntry

    source = make_snapshot(mailbox)
    form = staff_client.get(f"/admin/backups/snapshotmailbox/{source.pk}/restore/")
    assert form.status_code == 200 and "Werk" in form.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = staff_client.post(
            f"/admin/backups/snapshotmailbox/{source.pk}/restore/", {"mailbox": mailbox.pk, "folder": "Werk"}
        )
    assert response.status_code == 302
    assert Restore.objects.get().folder == "Werk"
    assert AuditEntry.objects.get(action="backup.restore").actor_kind == "staff"
    bad = staff_client.post(
        f"/admin/backups/snapshotmailbox/{source.pk}/restore/", {"mailbox": mailbox.pk, "folder": "../x"}
    )
    assert "cannot start with" in bad.content.decode()
    assert Restore.objects.count() == 1


def test_a_suspended_customer_starts_no_restore(owner_client, customer, mailbox, make_snapshot):
    source = make_snapshot(mailbox)
    customer.status = customer.Status.SUSPENDED
    customer.save(update_fields=["status"])
    response = post_restore(owner_client, mailbox, source)
    assert response.status_code == 302
    assert not Restore.objects.exists()


def test_the_customers_restore_and_snapshot_ids_under_another_customers_own_mailbox_are_404s(
    outsider_client, owner_client, mailbox, make_snapshot, make_mailbox, other_customer, other_domain,
    django_capture_on_commit_callbacks,
):  # fmt: skip
    """The outsider signs in to their own mailbox and tries the customer's ids with it: nothing is found, the
    customer's mailbox cannot be a restore's target, nothing is queued."""
    from mailaccounts.services.mailboxes import delete_mailbox, purge_mailbox
    from tenants.audit import Actor

    own = make_mailbox("eigen", on_customer=other_customer, on_domain=other_domain)
    source = make_snapshot(mailbox)
    leaver = make_mailbox("weg")
    purged_source = make_snapshot(leaver)
    delete_mailbox(actor=Actor.system(), mailbox=leaver)
    purge_mailbox(mailbox=leaver)
    with django_capture_on_commit_callbacks(execute=False):
        post_restore(owner_client, mailbox, source)
    restore = Restore.objects.get()
    for url in [
        f"/mailboxes/{own.pk}/backups/restores/{restore.pk}/",
        f"/mailboxes/{own.pk}/backups/restores/{restore.pk}/progress/",
    ]:
        assert outsider_client.get(url).status_code == 404, url
    # the customer's day is not a day of the outsider's mailbox: a clear message, no restore
    with django_capture_on_commit_callbacks(execute=False):
        response = post_restore(outsider_client, own, source)
    assert response.status_code == 200 and response.context["form"].errors
    # a purged mailbox of their own cannot be restored into the customer's mailbox
    own_leaver = make_mailbox("oud", on_customer=other_customer, on_domain=other_domain)
    own_source = make_snapshot(own_leaver)
    delete_mailbox(actor=Actor.system(), mailbox=own_leaver)
    purge_mailbox(mailbox=own_leaver)
    with django_capture_on_commit_callbacks(execute=False):
        response = outsider_client.post(
            f"/backups/removed/{own_source.pk}/", {"mailbox": mailbox.pk, "folder": ""}
        )
    assert response.status_code == 200 and "mailbox" in response.context["form"].errors
    assert outsider_client.get(f"/backups/removed/{purged_source.pk}/").status_code == 404
    assert Restore.objects.count() == 1


def test_a_restore_task_delivered_twice_runs_once(
    owner_client, mailbox, make_snapshot, django_capture_on_commit_callbacks
):
    """Celery may deliver a task again (acks_late, a worker lost): the second delivery finds the restore
    claimed and does nothing, so no message is imported twice."""
    from backups import jobs

    with django_capture_on_commit_callbacks(execute=False):
        post_restore(owner_client, mailbox, make_snapshot(mailbox))
    restore = Restore.objects.get()
    Restore.objects.filter(pk=restore.pk).update(status=Restore.Status.RUNNING)  # the first delivery's claim
    assert jobs.run_restore(restore_id=restore.pk) is None
    Restore.objects.filter(pk=restore.pk).update(status=Restore.Status.SUCCEEDED)
    assert jobs.run_restore(restore_id=restore.pk) is None
    restore.refresh_from_db()
    assert (restore.status, restore.messages_done, restore.error) == ("succeeded", 0, "")


def test_an_interrupted_restore_and_backup_are_closed_and_a_second_backup_waits(
    mailbox, make_snapshot, owner, settings
):
    from datetime import timedelta

    from django.utils import timezone

    from backups import jobs
    from backups.models import BackupRun
    from backups.services import request_restore
    from tenants.audit import Actor

    settings.DB_BACKUP_ENABLED = False
    host = mailbox.domain.mailhost
    restore = request_restore(actor=Actor(user=owner), mailbox=mailbox, source=make_snapshot(mailbox))
    long_ago = timezone.now() - timedelta(hours=7)
    Restore.objects.filter(pk=restore.pk).update(status=Restore.Status.RUNNING, started_at=long_ago)
    jobs.check_backup_health()
    restore.refresh_from_db()
    assert restore.status == "failed" and "interrupted" in restore.error

    running = BackupRun.objects.create(host=host)
    with pytest.raises(jobs.BackupBusy):
        jobs.claim_backup(host)
    BackupRun.objects.filter(pk=running.pk).update(started_at=long_ago)
    claimed = jobs.claim_backup(host)  # the stale run (a killed worker) no longer holds the host
    running.refresh_from_db()
    assert running.status == "failed" and "interrupted" in running.error and claimed.status == "running"
