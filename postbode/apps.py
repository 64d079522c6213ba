from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PostbodeConfig(AppConfig):
    """The project on top of every layer: settings, root URLs, the dashboard, navigation and demo data."""

    name = "postbode"
    verbose_name = _("Postbode")

    def ready(self):
        # Capabilities do not import each other: the project, which knows them all, tells the backups where
        # the calendars and address books of a host live (Radicale's storage folder, from `devices`).
        from backups.sources import BackupSource, register_backup_source
        from devices.endpoints import dav_storage_path

        from . import checks  # noqa: F401 - registers the settings checks

        register_backup_source(BackupSource("calendars", lambda host: [dav_storage_path(host)]))
