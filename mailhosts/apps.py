from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailHostsConfig(AppConfig):
    """The mail-host machinery: hosts, desired and applied revisions, the per-host lock, the apply task, atomic
    file writing and the local mail stack. It knows *that* capabilities render files, not *which*: each one
    registers its renderer (`mailhosts.rendering.register_renderer`) in its own `AppConfig.ready`."""

    name = "mailhosts"
    verbose_name = _("Mail hosts")
