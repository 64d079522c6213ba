from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailaccountsConfig(AppConfig):
    name = "mailaccounts"
    verbose_name = _("Mail accounts")

    def ready(self):
        from django.db.models import F

        from mailhosts.rendering import Renderer, register_renderer
        from tenants.middleware import register_membership_annotation

        from . import checks  # noqa: F401 - registers the data checks
        from .rendering import (
            ASSEMBLED,
            DKIM_ASSEMBLED,
            DKIM_MANAGED_DIRS,
            DKIM_SCOPED_ROOTS,
            HASH_MAPS,
            MANAGED_DIRS,
            SCOPED_ROOTS,
            USERS_DATABASE,
            USERS_DIR,
            mailbox_count,
            related_domains,
            render_mail_accounts_scoped,
            render_mail_accounts_whole,
            render_opendkim_scoped,
            render_opendkim_whole,
            render_users,
        )
        from .sections import register_domain_section, register_mailbox_section
        from .views.signatures import domain_signature_section, mailbox_signature_section

        register_renderer(
            Renderer(
                "mailaccounts",
                render_mail_accounts_whole,
                MANAGED_DIRS,
                HASH_MAPS,
                render_scoped=render_mail_accounts_scoped,
                scoped_roots=SCOPED_ROOTS,
                assembled=ASSEMBLED,
                user_tables={USERS_DIR: USERS_DATABASE},
                related_scopes=related_domains,
                render_users=render_users,
                rows=mailbox_count,
            )
        )
        register_renderer(
            Renderer(
                "opendkim",
                render_opendkim_whole,
                DKIM_MANAGED_DIRS,
                render_scoped=render_opendkim_scoped,
                scoped_roots=DKIM_SCOPED_ROOTS,
                assembled=DKIM_ASSEMBLED,
                beside=True,
            )
        )
        register_mailbox_section(mailbox_signature_section)
        # whether a member is also a mailbox's own login, read with the membership (mailaccounts.middleware)
        register_membership_annotation("mailbox_login_id", F("user__mailbox_login__id"))
        register_domain_section(domain_signature_section)
