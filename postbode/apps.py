from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PostbodeConfig(AppConfig):
    """The project on top of every layer: settings, root URLs, the dashboard, navigation and demo data."""

    name = "postbode"
    verbose_name = _("Postbode")
