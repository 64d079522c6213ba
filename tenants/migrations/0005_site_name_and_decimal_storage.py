"""The Sites framework's name and domain from settings (allauth's e-mails say "Hallo van <site name>"),
and plan storage in decimal gigabytes, as the product page sells it (5 GB = 5,000 MB, not 5,120 MB)."""

from urllib.parse import urlsplit

from django.conf import settings
from django.db import migrations

GIB, GB = 1024**3, 10**9


def name_the_site(apps, schema_editor):
    Site = apps.get_model("sites", "Site")
    domain = urlsplit(settings.SITE_URL).netloc or "localhost"
    Site.objects.update_or_create(pk=settings.SITE_ID, defaults={"domain": domain, "name": settings.SITE_NAME})


def storage_in_decimal_gb(apps, schema_editor):
    Plan = apps.get_model("panel", "Plan")
    for plan in Plan.objects.all():
        if plan.storage_bytes % GIB == 0:
            plan.storage_bytes = plan.storage_bytes // GIB * GB
            plan.save(update_fields=["storage_bytes"])


class Migration(migrations.Migration):
    dependencies = [
        ("panel", "0004_customer_support_pin_phone"),
        ("sites", "0002_alter_domain_unique"),
    ]

    operations = [
        migrations.RunPython(name_the_site, migrations.RunPython.noop),
        migrations.RunPython(storage_in_decimal_gb, migrations.RunPython.noop),
    ]
