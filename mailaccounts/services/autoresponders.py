"""Autoresponders (Sieve vacation): saving and checking them."""

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from mailhosts.revisions import mark_changed
from tenants.audit import Actor, record

from ..models import Autoresponder, Mailbox
from .mailboxes import check_not_deleted, diff

# Autoresponders --------------------------------------------------------------------------------------

AUTORESPONDER_MAX_BODY = 10_000
AUTORESPONDER_MAX_DAYS = 30


@transaction.atomic
def save_autoresponder(
    *,
    actor: Actor,
    mailbox: Mailbox,
    is_enabled: bool,
    subject: str,
    body: str,
    starts_at: datetime | None = None,
    ends_at: datetime | None = None,
    interval_days: int = 1,
) -> Autoresponder:
    check_not_deleted(mailbox)
    check_autoresponder(is_enabled, subject, body, starts_at, ends_at, interval_days)
    autoresponder = Autoresponder.objects.filter(mailbox=mailbox).first() or Autoresponder(mailbox=mailbox)
    values = {
        "is_enabled": is_enabled,
        "subject": subject,
        "body": body,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "interval_days": interval_days,
    }
    changes = diff(autoresponder, values) if autoresponder.pk else {k: (None, v) for k, v in values.items()}
    if not changes:
        return autoresponder
    for field, value in values.items():
        setattr(autoresponder, field, value)
    autoresponder.updated_at = timezone.now()
    mark_changed(autoresponder, host=mailbox.domain.mailhost)
    autoresponder.save()
    record(
        actor,
        "autoresponder.save",
        customer=mailbox.customer,
        obj=autoresponder,
        changes={k: [str(old), str(new)] for k, (old, new) in changes.items() if k != "body"},
    )
    return autoresponder


def check_autoresponder(is_enabled, subject, body, starts_at, ends_at, interval_days) -> None:
    errors = {}
    if is_enabled and not subject.strip():
        errors["subject"] = _("Enter a subject for the reply.")
    if is_enabled and not body.strip():
        errors["body"] = _("Enter the text of the reply.")
    if len(body) > AUTORESPONDER_MAX_BODY:
        errors["body"] = _("The message can be at most %(max)d characters.") % {"max": AUTORESPONDER_MAX_BODY}
    if len(subject) > (Autoresponder._meta.get_field("subject").max_length or 0):
        errors["subject"] = _("The subject is too long.")
    if starts_at and ends_at and ends_at <= starts_at:
        errors["ends_at"] = _("The end must be after the start.")
    if not 1 <= interval_days <= AUTORESPONDER_MAX_DAYS:
        errors["interval_days"] = _("Choose between 1 and %(max)d days.") % {"max": AUTORESPONDER_MAX_DAYS}
    if errors:
        raise ValidationError(errors)
