from decimal import Decimal

from django.db import migrations

GB = 10**9  # decimal since 0005 converted existing plans; fresh databases start decimal
PLANS = [
    {"code": "basis", "name": "Basis", "price_monthly": Decimal("4.50"), "storage_bytes": 5 * GB,
     "hourly_send_limit": 300, "sort_order": 1},
    {"code": "professional", "name": "Professional", "price_monthly": Decimal("6.00"), "storage_bytes": 10 * GB,
     "hourly_send_limit": 1000, "sort_order": 2},
]


def seed(apps, schema_editor):
    Plan = apps.get_model("panel", "Plan")
    for plan in PLANS:
        Plan.objects.update_or_create(code=plan["code"], defaults=plan)


class Migration(migrations.Migration):
    dependencies = [("panel", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
