from django.db import migrations


def move_content_type(apps, schema_editor):
    """Audit entries and permissions of mail hosts keep pointing at them: the content type moves along."""
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="mailhosts", model="mailhost").exists():
        ContentType.objects.filter(app_label="mailaccounts", model="mailhost").update(app_label="mailhosts")


def move_back(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    if not ContentType.objects.filter(app_label="mailaccounts", model="mailhost").exists():
        ContentType.objects.filter(app_label="mailhosts", model="mailhost").update(app_label="mailaccounts")


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("mailhosts", "0001_initial"),
        ("mailaccounts", "0006_delete_mailhost"),
    ]

    operations = [migrations.RunPython(move_content_type, move_back)]
