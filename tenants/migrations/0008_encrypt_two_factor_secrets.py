"""Encrypt the TOTP secrets and recovery-code seeds stored in the clear before issue 15 (tenants.mfa)."""

from django.db import migrations

from tenants.mfa import encrypt_authenticator_data


def encrypt_existing(apps, schema_editor):
    Authenticator = apps.get_model("mfa", "Authenticator")
    for authenticator in Authenticator.objects.all():
        encrypted = encrypt_authenticator_data(authenticator.data or {})
        if encrypted != authenticator.data:
            Authenticator.objects.filter(pk=authenticator.pk).update(data=encrypted)


class Migration(migrations.Migration):
    dependencies = [
        ("panel", "0007_one_address_rule"),
        ("mfa", "0003_authenticator_type_uniq"),
    ]

    operations = [migrations.RunPython(encrypt_existing, migrations.RunPython.noop)]
