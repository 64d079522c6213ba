from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DevicesConfig(AppConfig):
    name = "devices"
    verbose_name = _("Devices, calendars and contacts")

    def ready(self):
        from mailhosts.rendering import Renderer, register_renderer
        from mailhosts.stack import register_stack_service

        from .rendering import RADICALE_DIR, render_radicale
        from .stack import RADICALE_SERVICE

        register_renderer(Renderer("devices", render_radicale, managed_dirs=(RADICALE_DIR,), beside=True))
        register_stack_service(RADICALE_SERVICE)
