"""Marking objects as changed for the mail backend (DESIGN.md, "desired state, applied by Celery").

A service function calls `mark_changed(obj, host=...)` inside its transaction: the host's desired revision
goes up by one, the object remembers it, and after commit the host's apply task is enqueued.
"""

from typing import Any

from django.db import transaction
from django.db.models import F

from .models import MailHost
from .tasks import enqueue_apply_mailhost


def bump_revision(host: MailHost) -> int:
    """Raise the host's desired revision atomically and return the new value."""
    MailHost.objects.filter(pk=host.pk).update(desired_revision=F("desired_revision") + 1)
    revision = MailHost.objects.values_list("desired_revision", flat=True).get(pk=host.pk)
    host.desired_revision = revision
    transaction.on_commit(lambda: enqueue_apply(host.pk))
    return revision


def mark_changed(obj: Any, *, host: MailHost) -> int:
    """`obj`: any model with a `revision` field."""
    obj.revision = bump_revision(host)
    if obj.pk:
        type(obj).objects.filter(pk=obj.pk).update(revision=obj.revision)
    return obj.revision


def enqueue_apply(host_id: int) -> None:
    enqueue_apply_mailhost(host_id)
