"""One-time single sign-on tokens into webmail. Only a hash of each token is stored."""

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailaccounts.models import Mailbox


class SsoTokenQuerySet(models.QuerySet):
    def usable(self):
        return self.filter(used_at__isnull=True, expires_at__gt=timezone.now())


class SsoToken(models.Model):
    """A link from the panel straight into the mailbox's webmail: used once, by the mail host's webmail,
    within `WEBMAIL_SSO_SECONDS` (at most 60)."""

    mailbox = models.ForeignKey(
        Mailbox, on_delete=models.CASCADE, related_name="webmail_tokens", verbose_name=_("mailbox")
    )
    token_hash = models.CharField(_("fingerprint of the link"), max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("made by"),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    expires_at = models.DateTimeField(_("valid until"))
    used_at = models.DateTimeField(_("used at"), null=True, blank=True)

    objects = SsoTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("webmail sign-on link")
        verbose_name_plural = _("webmail sign-on links")

    def __str__(self):
        return f"{self.mailbox} {self.created_at:%Y-%m-%d %H:%M:%S}"

    @staticmethod
    def hash_token(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
