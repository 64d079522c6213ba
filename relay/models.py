"""SMTP relay credentials for customers' applications (the relay log models live beside them)."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from panel.models import Customer


class RelayCredentialQuerySet(models.QuerySet):
    def for_customer(self, customer):
        return self.filter(customer=customer)


class RelayCredential(models.Model):
    """A username and secret an application uses on submission. Only the secret's hash is kept."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="relay_credentials")
    name = models.CharField(_("name"), max_length=80)
    username = models.CharField(_("username"), max_length=80, unique=True)
    secret_hash = models.CharField(max_length=255)
    domains = models.ManyToManyField(
        "mailaccounts.Domain", verbose_name=_("may send as"), related_name="relay_credentials"
    )
    is_enabled = models.BooleanField(_("enabled"), default=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revision = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = RelayCredentialQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("relay credential")
        verbose_name_plural = _("relay credentials")

    def __str__(self):
        return f"{self.name} ({self.username})"
