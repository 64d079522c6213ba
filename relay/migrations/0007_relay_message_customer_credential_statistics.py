"""Tell PostgreSQL's planner that a message's credential decides its customer.

Filtering the relay log by credential also names the customer (every query is scoped to one). Taken as
independent, the two conditions look hundreds of times rarer than they are, and the planner sorts every
message of the credential instead of reading the newest from the credential's index. PostgreSQL keeps such
functional dependencies when asked to; SQLite has no planner statistics of this kind.
"""

from django.db import migrations

NAME = "relaymsg_customer_credential"


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            f"CREATE STATISTICS IF NOT EXISTS {NAME} (dependencies) ON customer_id, credential_id "
            "FROM relay_relaymessage"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP STATISTICS IF EXISTS {NAME}")


class Migration(migrations.Migration):
    dependencies = [("relay", "0006_relay_recipient_records_its_final_attempt")]

    operations = [migrations.RunPython(create, drop)]
