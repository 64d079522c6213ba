from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebmailConfig(AppConfig):
    name = "webmail"
    verbose_name = _("Webmail")

    def ready(self):
        from mailaccounts.sections import register_mailbox_section
        from mailhosts.rendering import Renderer, register_renderer
        from mailhosts.stack import register_stack_service

        from .rendering import MANAGED_DIRS, SIGNATURES, render_webmail, render_webmail_scoped
        from .sections import mailbox_section
        from .stack import ROUNDCUBE_SERVICE

        register_renderer(
            Renderer(
                "webmail",
                render_webmail,
                managed_dirs=MANAGED_DIRS,
                render_scoped=render_webmail_scoped,
                scoped_roots=(SIGNATURES,),
                beside=True,
            )
        )
        register_stack_service(ROUNDCUBE_SERVICE)
        register_mailbox_section(mailbox_section)
