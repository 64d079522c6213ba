"""Staff move a domain to another customer or mail host, from its admin page or for several at once: through
`move_domain`, which takes the mailboxes, aliases and snapshots along and takes it off the relay credentials
of the customer it left."""

from django.utils import timezone

from backups.models import Snapshot, SnapshotMailbox
from mailaccounts.models import Alias, Mailbox
from mailaccounts.services import aliases
from mailhosts.models import MailHost
from relay.models import RelayCredential
from tenants.audit import Actor
from tenants.models import AuditEntry

CHANGELIST = "/admin/mailaccounts/domain/"


def alias_on(domain, customer):
    return aliases.create_alias(
        actor=Actor.system(),
        customer=customer,
        domain=domain,
        local_part="info",
        destinations=["jan@bakkerij.example"],
    )


def test_moving_to_another_customer_takes_mailboxes_aliases_and_snapshots_along(
    staff_client, domain, customer, other_customer, mailbox, credential
):
    alias_on(domain, customer)
    snapshot = Snapshot.objects.create(host=domain.mailhost, snapshot_id="a" * 64, taken_at=timezone.now())
    SnapshotMailbox.objects.create(
        snapshot=snapshot,
        customer=customer,
        mailbox=mailbox,
        address=mailbox.address,
        home="bakkerij.example/jan",
    )
    response = staff_client.post(
        f"/admin/mailaccounts/domain/{domain.pk}/change/",
        {"customer": other_customer.pk, "mailhost": domain.mailhost.pk},
    )
    assert response.status_code == 302
    assert Mailbox.objects.get(pk=mailbox.pk).customer == other_customer
    assert Alias.objects.get(domain=domain).customer == other_customer
    assert SnapshotMailbox.objects.get().customer == other_customer
    # the customer it left may no longer send as it through the relay
    assert not RelayCredential.objects.get(pk=credential.pk).domains.exists()
    entry = AuditEntry.objects.get(action="relay.credential.update")
    assert entry.customer == customer and entry.actor_kind == "staff"


def test_moving_to_another_mail_host_renders_it_away_from_the_old_one(staff_client, domain, tmp_path):
    old_host = domain.mailhost
    new_host = MailHost.objects.create(
        name="mx2", hostname="mx2.postbode.test", queue="mailhost.mx2", config_dir=str(tmp_path / "mx2")
    )
    old_before = old_host.desired_revision
    response = staff_client.post(
        f"/admin/mailaccounts/domain/{domain.pk}/change/",
        {"customer": domain.customer.pk, "mailhost": new_host.pk},
    )
    assert response.status_code == 302
    old_host.refresh_from_db()
    new_host.refresh_from_db()
    domain.refresh_from_db()
    assert domain.mailhost == new_host and domain.revision == new_host.desired_revision
    assert old_host.desired_revision == old_before + 1
    entry = AuditEntry.objects.get(action="domain.changed_by_staff")
    assert entry.changes == {"mailhost": "mx2"}


def test_saving_a_domain_unchanged_records_nothing(staff_client, domain):
    before = domain.mailhost.desired_revision
    staff_client.post(
        f"/admin/mailaccounts/domain/{domain.pk}/change/",
        {"customer": domain.customer.pk, "mailhost": domain.mailhost.pk},
    )
    domain.mailhost.refresh_from_db()
    assert domain.mailhost.desired_revision == before
    assert not AuditEntry.objects.filter(action="domain.changed_by_staff").exists()


def test_the_move_action_asks_where_to_then_moves_each_domain(staff_client, domain, other_domain, customer):
    selected = {"action": "move_domains", "_selected_action": [domain.pk, other_domain.pk]}
    confirm = staff_client.post(CHANGELIST, selected)
    page = confirm.content.decode()
    assert confirm.status_code == 200 and 'name="customer"' in page and "concurrent.example" in page
    refused = staff_client.post(CHANGELIST, {**selected, "apply": "1"}).content.decode()
    assert "Choose a customer, a mail host or both." in refused
    assert not AuditEntry.objects.filter(action="domain.changed_by_staff").exists()

    done = staff_client.post(CHANGELIST, {**selected, "apply": "1", "customer": customer.pk}, follow=True)
    assert "1 domain moved." in done.content.decode()  # one was already the customer's
    other_domain.refresh_from_db()
    assert other_domain.customer == customer
    entry = AuditEntry.objects.get(action="domain.changed_by_staff")
    assert entry.customer == customer and entry.changes == {"customer": "Bakkerij de Vries"}
