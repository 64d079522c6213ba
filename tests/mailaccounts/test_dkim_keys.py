"""DKIM keys: generated with dkimpy, encrypted at rest, selectors validated, rotated without losing mail."""

from datetime import timedelta

import dkim
import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from mailaccounts.crypto import KeyDecryptionError, decrypt_private_key
from mailaccounts.models import DkimKey
from mailaccounts.services import dkim as dkim_service
from tenants.audit import Actor
from tenants.models import AuditEntry

SYSTEM = Actor.system()


def sign_and_verify(key: DkimKey) -> bool:
    message = b"From: a@bakkerij.example\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nHello.\r\n"
    private = decrypt_private_key(key)
    if key.algorithm == "ed25519":
        private = dkim_service.ed25519_seed(private)
    signature = dkim.sign(
        message,
        key.selector.encode(),
        key.domain.name.encode(),
        private,
        signature_algorithm=b"ed25519-sha256" if key.algorithm == "ed25519" else b"rsa-sha256",
    )
    record = dkim_service.dkim_txt_value(key).encode()
    return dkim.verify(signature + message, dnsfunc=lambda name, timeout=5: record)


def test_rsa_key_is_2048_bits_and_signs_verifiably(rsa_key):
    assert rsa_key.algorithm == "rsa"
    assert rsa_key.state == DkimKey.State.PUBLISH
    private = decrypt_private_key(rsa_key)
    assert private.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert dkim.crypto.parse_pem_private_key(private)["modulus"].bit_length() == 2048
    assert sign_and_verify(rsa_key)


def test_private_key_is_not_stored_in_clear(rsa_key):
    assert b"PRIVATE KEY" not in rsa_key.private_key_encrypted.encode()
    assert "PRIVATE" not in rsa_key.private_key_encrypted


def test_changing_the_encryption_key_makes_keys_unreadable(rsa_key, settings):
    settings.DKIM_ENCRYPTION_KEY = "another key entirely"
    with pytest.raises(KeyDecryptionError):
        decrypt_private_key(rsa_key)


def test_ed25519_key_beside_rsa_signs_verifiably(rsa_key, domain):
    key = dkim_service.generate_dkim_key(domain=domain, actor=SYSTEM, algorithm="ed25519")
    assert key.selector.endswith("ed")
    assert sign_and_verify(key)


def test_ed25519_key_alone_is_refused(domain):
    with pytest.raises(ValidationError) as error:
        dkim_service.generate_dkim_key(domain=domain, actor=SYSTEM, algorithm="ed25519")
    assert error.value.code == "ed25519_alone"
    assert not domain.dkim_keys.exists()


def test_second_key_of_a_type_is_refused_rotation_is_the_way(rsa_key, domain):
    with pytest.raises(ValidationError):
        dkim_service.generate_dkim_key(domain=domain, actor=SYSTEM)


def test_auto_selector_is_named_after_the_month_and_never_repeats(domain):
    from datetime import date

    assert dkim_service.auto_selector(domain, "rsa", today=date(2026, 11, 3)) == "pb202611"
    DkimKey.objects.create(domain=domain, selector="pb202611", public_key="x", private_key_encrypted="x")
    assert dkim_service.auto_selector(domain, "rsa", today=date(2026, 11, 3)) == "pb202611b"
    assert dkim_service.auto_selector(domain, "ed25519", today=date(2026, 11, 3)) == "pb202611ed"


@pytest.mark.parametrize(
    "hostile",
    [
        "mail.2026",
        "my selector",
        "sélecteur",
        "s" * 64,
        "-start",
        "end-",
        "a_b",
        "",
        " ",
        "pb\n1",
        "x;y",
        "üñí",
    ],
)
def test_hostile_selectors_are_refused(hostile):
    with pytest.raises(ValidationError):
        dkim_service.validate_selector(hostile)


@pytest.mark.parametrize("good", ["pb202611", "mail", "s1", "a" * 63, "Key-2026"])
def test_valid_selectors_are_accepted_lowercased(good):
    assert dkim_service.validate_selector(good) == good.lower()


def test_hostile_selector_saves_nothing(domain):
    with pytest.raises(ValidationError):
        dkim_service.generate_dkim_key(domain=domain, actor=SYSTEM, selector="evil.selector")
    assert not domain.dkim_keys.exists()


def test_generating_a_key_marks_it_changed_for_the_mail_host_and_audits(
    domain, django_capture_on_commit_callbacks
):
    before = domain.mailhost.desired_revision
    key = dkim_service.generate_dkim_key(domain=domain, actor=SYSTEM, selector="sel1")
    domain.mailhost.refresh_from_db()
    assert domain.mailhost.desired_revision == before + 1
    assert key.revision == domain.mailhost.desired_revision
    entry = AuditEntry.objects.get(action="dkim.generate")
    assert entry.changes["selector"] == "sel1"
    assert "private" not in str(entry.changes).lower()


def test_new_key_signs_only_once_its_record_is_live(rsa_key, domain):
    assert list(dkim_service.signing_keys(domain)) == []
    dkim_service.activate_published_keys(domain=domain, live_selectors={"other"}, actor=SYSTEM)
    assert list(dkim_service.signing_keys(domain)) == []
    dkim_service.activate_published_keys(domain=domain, live_selectors={rsa_key.selector}, actor=SYSTEM)
    assert list(dkim_service.signing_keys(domain)) == [rsa_key]


def test_rotation_keeps_old_key_signing_until_new_record_is_live(signing_key, domain):
    new = dkim_service.rotate_dkim_key(domain=domain, actor=SYSTEM, selector="pb202612")
    assert new.state == DkimKey.State.PUBLISH
    assert list(dkim_service.signing_keys(domain)) == [signing_key]

    dkim_service.activate_published_keys(domain=domain, live_selectors={"pb202612"}, actor=SYSTEM)

    signing_key.refresh_from_db()
    assert list(dkim_service.signing_keys(domain)) == [new]
    assert signing_key.state == DkimKey.State.RETIRING
    assert signing_key.retiring_at is not None
    assert AuditEntry.objects.filter(action="dkim.retiring", object_id=str(signing_key.pk)).exists()


def test_a_second_rotation_waits_for_the_first(signing_key, domain):
    dkim_service.rotate_dkim_key(domain=domain, actor=SYSTEM)
    with pytest.raises(ValidationError) as error:
        dkim_service.rotate_dkim_key(domain=domain, actor=SYSTEM)
    assert error.value.code == "pending"


def test_rotating_without_a_signing_key_is_refused(rsa_key, domain):
    with pytest.raises(ValidationError):
        dkim_service.rotate_dkim_key(domain=domain, actor=SYSTEM)


def test_retiring_key_is_retired_after_the_grace_period(signing_key, domain, settings):
    settings.DKIM_RETIRE_GRACE_DAYS = 7
    dkim_service.rotate_dkim_key(domain=domain, actor=SYSTEM, selector="pb202612")
    dkim_service.activate_published_keys(domain=domain, live_selectors={"pb202612"}, actor=SYSTEM)

    assert dkim_service.retire_expired_keys(actor=SYSTEM, now=timezone.now() + timedelta(days=6)) == []
    retired = dkim_service.retire_expired_keys(
        actor=SYSTEM, now=timezone.now() + timedelta(days=7, minutes=1)
    )

    assert retired == [signing_key]
    signing_key.refresh_from_db()
    assert signing_key.state == DkimKey.State.RETIRED
    assert signing_key.retired_at is not None


def test_ed25519_key_is_stored_as_pem_matching_its_public_key(rsa_key, domain):
    import base64

    from cryptography.hazmat.primitives import serialization

    ed_key = dkim_service.generate_dkim_key(domain=domain, actor=SYSTEM, algorithm="ed25519")
    private = decrypt_private_key(ed_key)
    assert private.startswith(b"-----BEGIN PRIVATE KEY-----")
    loaded = serialization.load_pem_private_key(private, password=None)
    public = loaded.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    assert base64.b64encode(public).decode() == ed_key.public_key
