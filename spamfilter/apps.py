from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SpamfilterConfig(AppConfig):
    name = "spamfilter"
    verbose_name = _("Spam filter")

    def ready(self):
        from mailaccounts.sections import register_domain_section, register_mailbox_section
        from mailhosts.annotations import register_message_notes
        from mailhosts.rendering import Renderer, register_renderer
        from mailhosts.stack import register_stack_service

        from .rendering import (
            ASSEMBLED,
            MANAGED_DIRS,
            SCOPED_ROOTS,
            USERDB_FIELDS,
            USERDB_PARTS,
            USERS_DATABASE,
            render_spamfilter,
            render_spamfilter_scoped,
        )
        from .sections import domain_section, mailbox_section, relay_notes
        from .stack import RSPAMD_SERVICE

        register_renderer(
            Renderer(
                "spamfilter",
                render_spamfilter,
                managed_dirs=MANAGED_DIRS,
                render_scoped=render_spamfilter_scoped,
                scoped_roots=SCOPED_ROOTS,
                assembled=ASSEMBLED,
                user_tables={USERDB_PARTS: USERS_DATABASE},
                user_table_layouts={USERS_DATABASE: USERDB_FIELDS},
                beside=True,
            )
        )
        register_stack_service(RSPAMD_SERVICE)
        register_mailbox_section(mailbox_section)
        register_domain_section(domain_section)
        register_message_notes(relay_notes)
