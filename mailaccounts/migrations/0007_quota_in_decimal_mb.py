"""Mailbox quotas in decimal megabytes, as plans now count storage (tenants 0005): a quota of N MiB becomes
the same share of the plan in MB, rounded down (1,024 MiB → 1,000 MB), so every customer's mailboxes still fit
its plan. The mail hosts get the new quotas with their next apply."""

from django.db import migrations

MIB, MB = 1024**2, 10**6


def quotas_in_decimal_mb(apps, schema_editor):
    Mailbox = apps.get_model("mailaccounts", "Mailbox")
    for mailbox in Mailbox.objects.only("pk", "quota_bytes").iterator():
        if mailbox.quota_bytes % MIB == 0:
            mailbox.quota_bytes = mailbox.quota_bytes // MIB * 1000 // 1024 * MB
            mailbox.save(update_fields=["quota_bytes"])


class Migration(migrations.Migration):
    dependencies = [
        ("mailaccounts", "0006_delete_mailhost"),
        ("panel", "0005_site_name_and_decimal_storage"),
    ]

    operations = [migrations.RunPython(quotas_in_decimal_mb, migrations.RunPython.noop)]
