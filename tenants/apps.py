from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    """The tenant core: customers, users and memberships with roles, plans, subscriptions, the audit log and
    the access helpers. Its label stays "panel", the app's name before the layers were drawn, so tables,
    migrations and the user model (`panel.User`) keep their names."""

    name = "tenants"
    label = "panel"
    verbose_name = _("Panel")
