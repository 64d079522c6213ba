from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailaccountsConfig(AppConfig):
    name = "mailaccounts"
    verbose_name = _("Mail accounts")

    def ready(self):
        from mailhosts.rendering import Renderer, register_renderer

        from .rendering import HASH_MAPS, MANAGED_DIRS, render_mail_accounts
        from .sections import register_domain_section, register_mailbox_section
        from .views.signatures import domain_signature_section, mailbox_signature_section

        register_renderer(Renderer("mailaccounts", render_mail_accounts, MANAGED_DIRS, HASH_MAPS))
        register_mailbox_section(mailbox_signature_section)
        register_domain_section(domain_signature_section)
