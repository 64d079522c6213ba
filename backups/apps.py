from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BackupsConfig(AppConfig):
    name = "backups"
    verbose_name = _("Backups")

    def ready(self):
        from mailaccounts.services.domains import register_domain_moved
        from mailhosts.rendering import Renderer, register_renderer
        from mailhosts.stack import register_stack_service

        from .rendering import MANAGED_DIRS, render_backups
        from .services import follow_moved_domain
        from .sources import BackupSource, mail_paths, register_backup_source
        from .stack import DOVEADM_SERVICE

        register_renderer(Renderer("backups", render_backups, managed_dirs=MANAGED_DIRS, beside=True))
        register_stack_service(DOVEADM_SERVICE)
        register_backup_source(BackupSource("mail", mail_paths))
        register_domain_moved(follow_moved_domain)
