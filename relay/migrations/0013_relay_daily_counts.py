"""The daily roll-up the customer's chart reads (`relay.rollup`), counted from the relay log as it is."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Count
from django.db.models.functions import TruncDate
from django.utils import timezone


def backfill(apps, schema_editor):
    RelayMessage = apps.get_model("relay", "RelayMessage")
    RejectedAttempt = apps.get_model("relay", "RejectedAttempt")
    RelayDailyCount = apps.get_model("relay", "RelayDailyCount")
    zone = timezone.get_default_timezone()
    counts: dict = {}
    messages = (
        RelayMessage.objects.filter(customer__isnull=False)
        .annotate(day=TruncDate("received_at", tzinfo=zone))
        .values_list("customer_id", "day", "status")
        .annotate(n=Count("id"))
        .order_by()
    )
    for customer_id, day, status, n in messages:
        counts[(customer_id, day, status)] = counts.get((customer_id, day, status), 0) + n
    rejects = (
        RejectedAttempt.objects.filter(customer__isnull=False)
        .annotate(day=TruncDate("at", tzinfo=zone))
        .values_list("customer_id", "day")
        .annotate(n=Count("id"))
        .order_by()
    )
    for customer_id, day, n in rejects:
        counts[(customer_id, day, "rejected")] = counts.get((customer_id, day, "rejected"), 0) + n
    RelayDailyCount.objects.bulk_create(
        [
            RelayDailyCount(customer_id=customer_id, day=day, status=status, count=n)
            for (customer_id, day, status), n in counts.items()
        ],
        batch_size=2_000,
    )


class Migration(migrations.Migration):

    dependencies = [
        ("panel", "0007_staff_admin_labels_in_dutch"),
        ("relay", "0012_relay_log_partitioned_by_day"),
    ]

    operations = [
        migrations.CreateModel(
            name="RelayDailyPending",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(verbose_name="day")),
            ],
            options={
                "verbose_name": "day to roll up",
                "verbose_name_plural": "days to roll up",
            },
        ),
        migrations.CreateModel(
            name="RelayDailyCount",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("day", models.DateField(verbose_name="day")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("queued", "Queued"),
                            ("sent", "Sent"),
                            ("deferred", "Deferred"),
                            ("bounced", "Bounced"),
                            ("expired", "Expired"),
                            ("rejected", "Rejected"),
                        ],
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("count", models.PositiveIntegerField(verbose_name="count")),
                (
                    "customer",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="relay_daily_counts",
                        to="panel.customer",
                        verbose_name="customer",
                    ),
                ),
            ],
            options={
                "verbose_name": "daily relay count",
                "verbose_name_plural": "daily relay counts",
                "ordering": ["customer", "day", "status"],
                "indexes": [models.Index(fields=["day"], name="relaydaily_day")],
                "constraints": [
                    models.UniqueConstraint(fields=("customer", "day", "status"), name="unique_relay_daily_count")
                ],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
