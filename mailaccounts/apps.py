from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailaccountsConfig(AppConfig):
    name = "mailaccounts"
    verbose_name = _("Mail accounts")
