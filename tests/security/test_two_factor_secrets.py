"""Issue 15, point 3: TOTP secrets encrypted at rest, never shown to staff; staff can only remove, audited."""

from importlib import import_module

from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.apps import apps
from django.core.cache import cache
from django.urls import reverse

from tenants.models import AuditEntry
from tests.conftest import STAFF_TOTP_SECRET

from .test_staff_two_factor import current_code

SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"


def test_a_new_totp_secret_is_stored_encrypted_and_its_codes_verify(owner):
    cache.clear()
    totp = TOTP.activate(owner, SECRET)
    stored = Authenticator.objects.get(pk=totp.instance.pk).data["secret"]
    assert SECRET not in stored and stored.startswith("fernet:")
    assert TOTP(Authenticator.objects.get(pk=totp.instance.pk)).validate_code(current_code(SECRET))


def test_recovery_code_seeds_are_stored_encrypted_and_still_work(owner):
    codes = RecoveryCodes.activate(owner)
    stored = Authenticator.objects.get(pk=codes.instance.pk).data["seed"]
    assert stored.startswith("fernet:")
    first = codes.get_unused_codes()[0]
    assert RecoveryCodes(Authenticator.objects.get(pk=codes.instance.pk)).validate_code(first)


def test_the_migration_encrypts_secrets_stored_in_the_clear_and_codes_still_verify(owner):
    cache.clear()
    plain = Authenticator.objects.create(user=owner, type=Authenticator.Type.TOTP, data={"secret": SECRET})
    migration = import_module("tenants.migrations.0008_encrypt_two_factor_secrets")
    migration.encrypt_existing(apps, None)
    migration.encrypt_existing(apps, None)  # twice changes nothing
    plain.refresh_from_db()
    assert plain.data["secret"].startswith("fernet:") and SECRET not in plain.data["secret"]
    assert TOTP(plain).validate_code(current_code(SECRET))


def test_staff_never_see_the_secret_and_cannot_edit_it(staff_client, staff):
    authenticator = Authenticator.objects.get(user=staff, type=Authenticator.Type.TOTP)
    url = reverse("admin:panel_twofactormethod_change", args=[authenticator.pk])
    page = staff_client.get(url)
    assert page.status_code == 200
    assert STAFF_TOTP_SECRET not in page.content.decode()
    assert authenticator.data["secret"] not in page.content.decode()
    before = authenticator.data
    staff_client.post(url, {"user": staff.pk, "type": "totp", "data": '{"secret": "AAAA"}'})
    authenticator.refresh_from_db()
    assert authenticator.data == before
    assert staff_client.get(reverse("admin:panel_twofactormethod_add")).status_code == 403


def test_staff_remove_an_authenticator_and_it_is_audited(staff_client, owner, customer):
    authenticator = TOTP.activate(owner, SECRET).instance
    url = reverse("admin:panel_twofactormethod_delete", args=[authenticator.pk])
    staff_client.post(url, {"post": "yes"})
    assert not Authenticator.objects.filter(pk=authenticator.pk).exists()
    entry = AuditEntry.objects.get(action="authenticator.removed_by_staff")
    assert entry.customer == customer and entry.changes["user"] == owner.email
