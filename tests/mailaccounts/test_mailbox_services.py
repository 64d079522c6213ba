"""The rules of mailboxes, aliases, the storage pool and routing, checked through the service functions."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from mailaccounts import passwords
from mailaccounts.models import Alias, Autoresponder, Domain, Mailbox
from mailaccounts.services import addresses, aliases, autoresponders, mailboxes, storage
from mailhosts.models import MailHost
from tenants.audit import Actor
from tenants.models import AuditEntry

from .conftest import MAILBOX_PASSWORD

MB = storage.MB
GB = storage.GB


def create(customer, domain, local_part="jan", **kwargs):
    kwargs.setdefault("quota_bytes", 100 * MB)
    return mailboxes.create_mailbox(
        actor=Actor.system(), customer=customer, domain=domain, local_part=local_part, **kwargs
    )


def test_create_mailbox_case_folds_hashes_audits_and_marks_pending(customer, domain):
    mailbox, generated = create(customer, domain, "Jan.De-Vries", password=MAILBOX_PASSWORD)
    assert mailbox.local_part == "jan.de-vries"
    assert generated is None
    assert mailbox.password_hash.startswith("{SHA512-CRYPT}$6$")
    assert passwords.verify_password(MAILBOX_PASSWORD, mailbox.password_hash)
    assert mailbox.live_state == "pending"
    assert (
        MailHost.objects.get().applied_revision < mailbox.revision <= MailHost.objects.get().desired_revision
    )
    assert AuditEntry.objects.filter(action="mailbox.create", object_id=str(mailbox.pk)).exists()


def test_generated_password_is_returned_once_and_only_its_hash_is_kept(customer, domain):
    mailbox, generated = create(customer, domain)
    assert generated and passwords.verify_password(generated, mailbox.password_hash)
    assert generated not in Mailbox.objects.values_list("password_hash", flat=True).get()


def test_first_mailbox_receives_postmaster_and_abuse(customer, domain):
    mailbox, _ = create(customer, domain)
    domain.refresh_from_db()
    assert domain.postmaster_to == mailbox and domain.abuse_to == mailbox


@pytest.mark.parametrize(
    "local_part",
    [
        "",
        "   ",
        "a" * 65,
        "jan..piet",
        ".jan",
        "jan.",
        "jan piet",
        "jan@piet",
        'jan"',
        "jan/../../etc",
        "jаn",  # Cyrillic а
        "ｊａｎ",  # full-width
        "jan%other.example",
        "bang!path",
        "jan\x00",
        "postmaster",
        "ABUSE",
        "mailer-daemon",
        "root",
        "hostmaster",
        "webmaster",
        "noc",
        "security",
    ],
)
def test_bad_local_parts_are_refused_and_nothing_is_saved(customer, domain, local_part):
    with pytest.raises(ValidationError):
        create(customer, domain, local_part)
    assert not Mailbox.objects.exists()


def test_sixty_four_octets_is_the_limit(customer, domain):
    mailbox, _ = create(customer, domain, "a" * 64)
    assert len(mailbox.local_part) == 64


def test_mailbox_only_on_own_verified_domain(customer, domain, other_domain):
    with pytest.raises(ValidationError, match="verified domains"):
        create(customer, other_domain)
    unverified = Domain.objects.create(
        customer=customer, name="nieuw.example", mailhost=MailHost.objects.default(), verification_token="t"
    )
    with pytest.raises(ValidationError, match="verified domains"):
        create(customer, unverified)
    assert not Mailbox.objects.exists()


def test_address_clash_with_mailbox_or_alias_is_refused(customer, domain, mailbox):
    with pytest.raises(ValidationError, match="already a mailbox"):
        create(customer, domain, "JAN")
    aliases.create_alias(
        actor=Actor.system(),
        customer=customer,
        domain=domain,
        local_part="info",
        destinations=[mailbox.address],
    )
    with pytest.raises(ValidationError, match="already an alias"):
        create(customer, domain, "info")
    with pytest.raises(ValidationError, match="already a mailbox"):
        aliases.create_alias(
            actor=Actor.system(),
            customer=customer,
            domain=domain,
            local_part="jan",
            destinations=["a@b.example"],
        )


@pytest.mark.parametrize(
    "password, message",
    [
        ("jan@bakkerij.example", "address"),
        ("Xjan-Brood-2024!", "address"),
        ("short", "too short"),
        ("1234567890123", "numeric"),
        ("password1234", "too common"),
    ],
)
def test_weak_passwords_are_refused(customer, domain, password, message):
    with pytest.raises(ValidationError, match=message):
        create(customer, domain, "jan", password=password)
    assert not Mailbox.objects.exists()


# The storage pool -----------------------------------------------------------------------------------


def test_pool_summary_counts_only_live_mailboxes(customer, domain):
    create(customer, domain, "a", quota_bytes=1 * GB)
    b, _ = create(customer, domain, "b", quota_bytes=2 * GB)
    Mailbox.objects.filter(pk=b.pk).update(used_bytes=5 * MB)
    pool = storage.pool_summary(customer)
    assert (pool.allocated_bytes, pool.used_bytes, pool.storage_bytes) == (3 * GB, 5 * MB, 5 * GB)
    assert pool.free_bytes == 2 * GB and pool.suggested_quota_bytes == 1 * GB
    mailboxes.delete_mailbox(actor=Actor.system(), mailbox=b)
    assert storage.pool_summary(customer).allocated_bytes == 1 * GB


def test_quota_beyond_the_pool_is_refused_saying_what_fits(customer, domain):
    create(customer, domain, "a", quota_bytes=4 * GB)
    with pytest.raises(ValidationError, match="at most 1000 MB is left"):
        create(customer, domain, "b", quota_bytes=1 * GB + MB)
    mailbox, _ = create(customer, domain, "b", quota_bytes=1 * GB)
    assert storage.pool_summary(customer).free_bytes == 0
    assert storage.pool_summary(customer).suggested_quota_bytes == 0


@pytest.mark.parametrize("quota", [0, -1, -5 * GB, MB])
def test_zero_negative_and_tiny_quotas_are_refused(customer, domain, quota):
    with pytest.raises(ValidationError, match="at least"):
        create(customer, domain, quota_bytes=quota)


def test_growing_a_quota_may_use_its_own_share_plus_what_is_left(customer, domain):
    a, _ = create(customer, domain, "a", quota_bytes=2 * GB)
    create(customer, domain, "b", quota_bytes=2 * GB)
    mailboxes.update_mailbox(
        actor=Actor.system(), mailbox=a, display_name="", quota_bytes=3 * GB, is_enabled=True
    )
    with pytest.raises(ValidationError, match="at most 3000 MB"):
        mailboxes.update_mailbox(
            actor=Actor.system(), mailbox=a, display_name="", quota_bytes=3 * GB + MB, is_enabled=True
        )
    a.refresh_from_db()
    assert a.quota_bytes == 3 * GB


# Delete, restore, purge ------------------------------------------------------------------------------


def test_delete_disables_at_once_and_restore_brings_it_back(customer, domain, mailbox):
    mailboxes.delete_mailbox(actor=Actor.system(), mailbox=mailbox)
    mailbox.refresh_from_db()
    assert mailbox.deleted_at and not mailbox.is_enabled
    mailboxes.restore_mailbox(actor=Actor.system(), mailbox=mailbox)
    mailbox.refresh_from_db()
    assert mailbox.deleted_at is None and mailbox.is_enabled
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"mailbox.delete", "mailbox.restore"} <= actions


def test_restore_after_retention_is_refused(customer, domain, mailbox, settings):
    mailboxes.delete_mailbox(actor=Actor.system(), mailbox=mailbox)
    Mailbox.objects.filter(pk=mailbox.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    mailbox.refresh_from_db()
    with pytest.raises(ValidationError, match="too long ago"):
        mailboxes.restore_mailbox(actor=Actor.system(), mailbox=mailbox)


def test_restore_that_no_longer_fits_the_pool_is_refused(customer, domain):
    a, _ = create(customer, domain, "a", quota_bytes=3 * GB)
    mailboxes.delete_mailbox(actor=Actor.system(), mailbox=a)
    create(customer, domain, "b", quota_bytes=4 * GB)
    with pytest.raises(ValidationError, match="needs 3000 MB"):
        mailboxes.restore_mailbox(actor=Actor.system(), mailbox=a)


def test_purge_removes_only_expired_mailboxes_and_their_folders(
    customer, domain, make_mailbox, tmp_path, django_capture_on_commit_callbacks
):
    MailHost.objects.update(mail_dir=str(tmp_path / "mail"))
    old, recent, live = make_mailbox("old"), make_mailbox("recent"), make_mailbox("live")
    folder = tmp_path / "mail" / domain.name / "old" / "cur"
    folder.mkdir(parents=True)
    (folder / "1.msg").write_text("hello")
    aliases.create_alias(
        actor=Actor.system(), customer=customer, domain=domain, local_part="team", destinations=[old.address]
    )
    aliases.create_alias(
        actor=Actor.system(),
        customer=customer,
        domain=domain,
        local_part="all",
        destinations=[old.address, live.address],
    )
    mailboxes.set_forwarding(
        actor=Actor.system(), mailbox=live, forward_to=[old.address, "x@example.org"], keep_copy=True
    )
    for mailbox in (old, recent):
        mailboxes.delete_mailbox(actor=Actor.system(), mailbox=mailbox)
    Mailbox.objects.filter(pk=old.pk).update(deleted_at=timezone.now() - timedelta(days=31))
    with django_capture_on_commit_callbacks(execute=True):
        assert mailboxes.purge_deleted_mailboxes() == 1
    assert set(Mailbox.objects.values_list("local_part", flat=True)) == {"recent", "live"}
    assert not (tmp_path / "mail" / domain.name / "old").exists()
    assert not Alias.objects.filter(local_part="team").exists()
    assert Alias.objects.get(local_part="all").destinations == [live.address]
    assert Mailbox.objects.get(pk=live.pk).forward_to == ["x@example.org"]
    assert mailboxes.purge_deleted_mailboxes() == 0


# Aliases, forwarding, cycles -------------------------------------------------------------------------


def alias(customer, domain, local_part, destinations):
    return aliases.create_alias(
        actor=Actor.system(),
        customer=customer,
        domain=domain,
        local_part=local_part,
        destinations=destinations,
    )


def test_alias_delivers_to_mailboxes_and_external_addresses(customer, domain, mailbox):
    created = alias(customer, domain, "Info", [mailbox.address, "Boekhouder@Example.ORG", "x@bücher.example"])
    assert created.local_part == "info"
    assert created.destinations == [mailbox.address, "Boekhouder@example.org", "x@xn--bcher-kva.example"]
    assert created.live_state == "pending"


@pytest.mark.parametrize(
    "destination, message",
    [
        ("not-an-address", "not an e-mail address"),
        ("a@", "not an e-mail address"),
        ("jаn@example.org", "ASCII"),  # Cyrillic а
        ("a@b", "not a valid"),
        ("a b@example.org", "not a valid"),
        ("x" * 250 + "@example.org", "longer than"),
        ("piet@concurrent.example", "another customer"),
        ("nobody@bakkerij.example", "not one of your"),
    ],
)
def test_bad_destinations_are_refused(customer, domain, other_domain, mailbox, destination, message):
    with pytest.raises(ValidationError, match=message):
        alias(customer, domain, "info", [destination])
    assert not Alias.objects.exists()


def test_alias_needs_a_destination(customer, domain):
    with pytest.raises(ValidationError, match="at least one"):
        alias(customer, domain, "info", ["  "])


def test_alias_cycles_are_refused(customer, domain, mailbox):
    a = alias(customer, domain, "a", [mailbox.address])
    alias(customer, domain, "b", [a.address])
    with pytest.raises(
        ValidationError, match="loop: a@bakkerij.example → b@bakkerij.example → a@bakkerij.example"
    ):
        aliases.update_alias(
            actor=Actor.system(), alias=a, destinations=["b@bakkerij.example"], is_enabled=True
        )
    with pytest.raises(ValidationError, match="itself"):
        aliases.update_alias(actor=Actor.system(), alias=a, destinations=[a.address], is_enabled=True)


def test_forward_loop_through_an_alias_is_refused(customer, domain, mailbox):
    alias(customer, domain, "team", [mailbox.address])
    with pytest.raises(ValidationError, match="loop"):
        mailboxes.set_forwarding(
            actor=Actor.system(), mailbox=mailbox, forward_to=["team@bakkerij.example"], keep_copy=True
        )


def test_forwarding_with_and_without_copy(customer, domain, mailbox):
    mailboxes.set_forwarding(
        actor=Actor.system(), mailbox=mailbox, forward_to=["jan@thuis.example"], keep_copy=False
    )
    mailbox.refresh_from_db()
    assert mailbox.forward_to == ["jan@thuis.example"] and not mailbox.forward_keep_copy
    assert AuditEntry.objects.filter(action="mailbox.forwarding").exists()


def test_forward_to_other_customers_domain_refused(customer, domain, mailbox, other_domain):
    with pytest.raises(ValidationError, match="another customer"):
        mailboxes.set_forwarding(
            actor=Actor.system(), mailbox=mailbox, forward_to=["x@concurrent.example"], keep_copy=True
        )


# Routing ---------------------------------------------------------------------------------------------


def test_routing_sets_postmaster_abuse_and_catch_all(customer, domain, make_mailbox):
    jan, kees = make_mailbox("jan"), make_mailbox("kees")
    aliases.set_domain_routing(
        actor=Actor.system(), domain=domain, postmaster_to=kees, abuse_to=jan, catch_all_to=kees
    )
    domain.refresh_from_db()
    assert (domain.postmaster_to, domain.abuse_to, domain.catch_all_to) == (kees, jan, kees)
    assert domain.live_state == "pending"
    assert AuditEntry.objects.filter(action="domain.routing").exists()


def test_routing_refuses_another_customers_mailbox(customer, domain, mailbox, other_mailbox):
    with pytest.raises(ValidationError, match="your mailboxes"):
        aliases.set_domain_routing(
            actor=Actor.system(),
            domain=domain,
            postmaster_to=other_mailbox,
            abuse_to=mailbox,
            catch_all_to=None,
        )


# Autoresponders and usage ----------------------------------------------------------------------------


def test_autoresponder_saved_as_data_and_marked_pending(mailbox):
    starts = timezone.now()
    saved = autoresponders.save_autoresponder(
        actor=Actor.system(),
        mailbox=mailbox,
        is_enabled=True,
        subject="Afwezig",
        body="Tot maandag",
        starts_at=starts,
        ends_at=starts + timedelta(days=7),
        interval_days=3,
    )
    assert Autoresponder.objects.get().interval_days == 3
    assert saved.live_state == "pending"


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"subject": ""}, "subject"),
        ({"body": ""}, "body"),
        ({"body": "x" * 10_001}, "body"),
        ({"interval_days": 0}, "interval_days"),
        ({"interval_days": 31}, "interval_days"),
        ({"ends_at": timezone.now() - timedelta(days=1), "starts_at": timezone.now()}, "ends_at"),
    ],
)
def test_bad_autoresponders_are_refused(mailbox, kwargs, field):
    values = {"is_enabled": True, "subject": "Weg", "body": "Tot maandag", "interval_days": 1} | kwargs
    with pytest.raises(ValidationError) as raised:
        autoresponders.save_autoresponder(actor=Actor.system(), mailbox=mailbox, **values)
    assert field in raised.value.message_dict
    assert not Autoresponder.objects.exists()


def test_quota_warning_once_per_crossing(mailbox, owner, member):
    quota = mailbox.quota_bytes
    assert not storage.record_usage(mailbox=mailbox, used_bytes=quota * 79 // 100)
    assert storage.record_usage(mailbox=mailbox, used_bytes=quota * 81 // 100)
    assert not storage.record_usage(mailbox=mailbox, used_bytes=quota * 85 // 100)
    assert storage.record_usage(mailbox=mailbox, used_bytes=quota * 96 // 100)
    assert not storage.record_usage(mailbox=mailbox, used_bytes=quota * 97 // 100)
    assert len(mail.outbox) == 2
    assert mail.outbox[0].to == [owner.email]
    assert "80%" in mail.outbox[0].subject and "95%" in mail.outbox[1].subject
    assert mailbox.address in mail.outbox[1].body
    assert mail.outbox[1].alternatives[0][1] == "text/html"
    # dropping below resets, so the next crossing warns again
    assert not storage.record_usage(mailbox=mailbox, used_bytes=quota // 2)
    assert Mailbox.objects.get(pk=mailbox.pk).quota_warning_level == 0
    assert storage.record_usage(mailbox=mailbox, used_bytes=quota * 90 // 100)
    assert len(mail.outbox) == 3


def test_measure_usage_reads_the_maildir_on_disk(mailbox, tmp_path):
    MailHost.objects.update(mail_dir=str(tmp_path))
    maildir = tmp_path / "bakkerij.example" / "jan"
    (maildir / "cur").mkdir(parents=True)
    (maildir / ".Sent" / "new").mkdir(parents=True)
    (maildir / "cur" / "a").write_bytes(b"x" * 1000)
    (maildir / ".Sent" / "new" / "b").write_bytes(b"x" * 500)
    (maildir / "dovecot.index").write_bytes(b"x" * 9999)
    assert storage.measure_usage() == 1
    mailbox.refresh_from_db()
    assert mailbox.used_bytes == 1500 and mailbox.usage_measured_at is not None


@pytest.mark.parametrize(
    "local_part, for_mailbox, message",
    [
        ("postmaster", True, "Routing"),
        ("abuse", False, "Routing"),
        ("webmaster", True, "as an alias instead"),
        ("mailer-daemon", True, "mail system"),
        ("mailer-daemon", False, "mail system"),
    ],
)
def test_reserved_names_say_what_to_do(local_part, for_mailbox, message):
    with pytest.raises(ValidationError, match=message):
        addresses.normalize_local_part(local_part, for_mailbox=for_mailbox)


def test_role_names_other_than_postmaster_and_abuse_can_be_aliases(customer, domain, mailbox):
    created = alias(customer, domain, "webmaster", [mailbox.address])
    assert created.address == "webmaster@bakkerij.example"


def test_quota_cannot_shrink_below_what_the_mailbox_holds(customer, domain, mailbox):
    Mailbox.objects.filter(pk=mailbox.pk).update(used_bytes=60 * MB + 1)
    mailbox.refresh_from_db()
    with pytest.raises(ValidationError, match="already holds 61 MB"):
        mailboxes.update_mailbox(
            actor=Actor.system(), mailbox=mailbox, display_name="", quota_bytes=50 * MB, is_enabled=True
        )
    mailboxes.update_mailbox(
        actor=Actor.system(), mailbox=mailbox, display_name="", quota_bytes=61 * MB, is_enabled=True
    )
    assert Mailbox.objects.get(pk=mailbox.pk).quota_bytes == 61 * MB


def test_quota_warnings_speak_the_customers_language(mailbox, owner, settings):
    settings.LANGUAGE_CODE = "en"
    mailbox.customer.language = "nl"
    mailbox.customer.save(update_fields=["language"])
    assert storage.record_usage(mailbox=mailbox, used_bytes=mailbox.quota_bytes * 81 // 100)
    assert "80% vol" in mail.outbox[0].subject
