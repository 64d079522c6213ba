"""On PostgreSQL, the relay log's four big tables become partitioned by day (`relay.partitions`): the rows,
ids, indexes and constraints stay as they were. SQLite keeps its plain tables."""

from django.db import migrations

from relay.partitions import PARTITIONED, convert_to_partitioned, convert_to_plain

MODELS = {
    "relay_relaymessage": "RelayMessage",
    "relay_relayrecipient": "RelayRecipient",
    "relay_relayevent": "RelayEvent",
    "relay_rejectedattempt": "RejectedAttempt",
}


def partition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, key in PARTITIONED.items():
        convert_to_partitioned(schema_editor, apps.get_model("relay", MODELS[table]), key)


def unpartition(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table, key in PARTITIONED.items():
        convert_to_plain(schema_editor, apps.get_model("relay", MODELS[table]), key)


class Migration(migrations.Migration):

    dependencies = [
        ("relay", "0011_relay_log_partition_keys"),
    ]

    operations = [migrations.RunPython(partition, unpartition)]
