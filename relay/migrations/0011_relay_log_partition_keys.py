"""Recipients and events carry their message's receipt time, and every unique constraint of the relay log's
big tables holds the time its table is partitioned on (0012), as PostgreSQL requires."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery


def copy_receipt_times(apps, schema_editor):
    RelayMessage = apps.get_model("relay", "RelayMessage")
    received = Subquery(RelayMessage.objects.filter(pk=OuterRef("message_id")).values("received_at")[:1])
    for name in ("RelayRecipient", "RelayEvent"):
        model = apps.get_model("relay", name)
        model.objects.update(received_at=received)
        model.objects.filter(received_at__isnull=True).delete()  # rows whose message was gone already


class Migration(migrations.Migration):

    dependencies = [
        ("relay", "0010_staff_admin_labels_in_dutch"),
    ]

    operations = [
        migrations.AddField(
            model_name="relayrecipient",
            name="received_at",
            field=models.DateTimeField(null=True, verbose_name="received at"),
        ),
        migrations.AddField(
            model_name="relayevent",
            name="received_at",
            field=models.DateTimeField(null=True, verbose_name="received at"),
        ),
        migrations.RunPython(copy_receipt_times, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="relayrecipient",
            name="received_at",
            field=models.DateTimeField(verbose_name="received at"),
        ),
        migrations.AlterField(
            model_name="relayevent",
            name="received_at",
            field=models.DateTimeField(verbose_name="received at"),
        ),
        migrations.RemoveConstraint(model_name="relayevent", name="unique_relay_event_line"),
        migrations.RemoveConstraint(model_name="relayrecipient", name="unique_relay_recipient"),
        migrations.AddConstraint(
            model_name="relayevent",
            constraint=models.UniqueConstraint(
                fields=("message", "at", "line_key", "received_at"), name="unique_relay_event_line"
            ),
        ),
        migrations.AddConstraint(
            model_name="relayrecipient",
            constraint=models.UniqueConstraint(
                fields=("message", "address", "orig_to", "received_at"), name="unique_relay_recipient"
            ),
        ),
        migrations.AlterField(
            model_name="rejectedattempt",
            name="line_key",
            field=models.BigIntegerField(verbose_name="log line key"),
        ),
        migrations.AddConstraint(
            model_name="rejectedattempt",
            constraint=models.UniqueConstraint(fields=("line_key", "at"), name="unique_rejected_attempt_line"),
        ),
    ]
