from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RelayConfig(AppConfig):
    name = "relay"
    verbose_name = _("Relay")

    def ready(self):
        from django.db.models.signals import pre_save

        from mailaccounts.rendering import register_sender_logins
        from mailaccounts.services.domains import register_domain_moved
        from mailhosts.rendering import Renderer, register_renderer
        from mailhosts.stack import register_stack_service

        from . import partitions
        from .models import RejectedAttempt, RelayEvent, RelayMessage, RelayRecipient
        from .rendering import (
            RELAY_LOGINS,
            RELAY_TABLE,
            credential_sender_logins,
            render_relay,
            render_relay_scoped,
        )
        from .services import forget_moved_domain
        from .stack import POLICY_SERVICE

        register_sender_logins(credential_sender_logins)
        register_domain_moved(forget_moved_domain)
        register_renderer(
            Renderer(
                "relay",
                render_relay,
                managed_dirs=("dovecot", "relay"),
                render_scoped=render_relay_scoped,
                user_table_layouts={RELAY_TABLE: RELAY_LOGINS},
                beside=True,
            )
        )
        register_stack_service(POLICY_SERVICE)
        for model in (RelayMessage, RelayRecipient, RelayEvent, RejectedAttempt):
            pre_save.connect(
                partitions.ensure_for_row, sender=model, dispatch_uid=f"relay-partition-{model.__name__}"
            )
