"""Marking objects as changed for the mail backend (DESIGN.md, "desired state, applied by Celery").

A service function calls `mark_changed(obj, host=...)` inside its transaction: the host's desired revision
goes up by one, the object remembers it, the revision records which part of the host it touched (its
scope, see `PendingChange`) and after commit the host's apply task is enqueued.

A scope is what lets the apply cost what changed: `mark_changed` takes it from the object's
`mailhost_scope` (a domain's name) or its caller (a mailbox's `login_scope`, its address, for a change to
its login alone: see `mailhosts.rendering.is_user_scope`), `bump_revision` from its caller (a deleted object
has no row left to ask). Without one the change is "anything" and the next apply renders the whole host:
slower, never wrong.
"""

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F

from .models import MailHost, PendingChange
from .tasks import enqueue_apply_mailhost

Scope = str | Iterable[str] | None


def bump_revision(host: MailHost, *, scope: Scope = None) -> int:
    """Raise the host's desired revision atomically, record what it touched and return the new value."""
    MailHost.objects.filter(pk=host.pk).update(desired_revision=F("desired_revision") + 1)
    revision = MailHost.objects.values_list("desired_revision", flat=True).get(pk=host.pk)
    host.desired_revision = revision
    scopes = [scope] if isinstance(scope, str) else sorted(set(scope or ()))
    PendingChange.objects.bulk_create(
        PendingChange(host_id=host.pk, revision=revision, scope=name) for name in scopes or [""]
    )
    transaction.on_commit(lambda: enqueue_apply(host.pk))
    return revision


def mark_changed(obj: Any, *, host: MailHost, scope: Scope = None) -> int:
    """`obj`: any model with a `revision` field; its `mailhost_scope` (if any) names what it touches."""
    if scope is None:
        scope = getattr(obj, "mailhost_scope", None)
    obj.revision = bump_revision(host, scope=scope)
    if obj.pk:
        type(obj).objects.filter(pk=obj.pk).update(revision=obj.revision)
    return obj.revision


def enqueue_apply(host_id: int) -> None:
    enqueue_apply_mailhost(host_id)
