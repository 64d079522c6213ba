import secrets

from django.db import migrations, models

import tenants.models


def give_each_customer_a_pin(apps, schema_editor):
    """AddField gives every existing row the same default; each customer gets its own PIN instead."""
    Customer = apps.get_model("panel", "Customer")
    for customer in Customer.objects.only("pk"):
        customer.support_pin = f"{secrets.randbelow(10**6):06d}"
        customer.save(update_fields=["support_pin"])


class Migration(migrations.Migration):
    dependencies = [
        ("panel", "0003_customer_email_language"),
    ]

    operations = [
        migrations.AddField(
            model_name="customer",
            name="phone",
            field=models.CharField(blank=True, max_length=30, verbose_name="phone number"),
        ),
        migrations.AddField(
            model_name="customer",
            name="support_pin",
            field=models.CharField(
                db_index=True,
                default=tenants.models.new_support_pin,
                help_text="Shown in the customer's panel; a caller reads it out so support knows who is calling.",
                max_length=6,
                verbose_name="support PIN",
            ),
        ),
        migrations.RunPython(give_each_customer_a_pin, migrations.RunPython.noop),
    ]
