"""Who is acting, and the audit entry every service function records."""

from dataclasses import dataclass

from django.db import models

from .access import is_limited_to_mailbox
from .models import AuditEntry, Customer, User


@dataclass(frozen=True)
class Actor:
    """The one doing a change: a customer's user, a staff member, or the system (tasks, commands)."""

    user: User | None = None
    ip_address: str | None = None
    is_staff_action: bool = False
    # signed in with a mailbox's own address and password (its label is that address)
    is_mailbox_user: bool = False

    @classmethod
    def from_request(cls, request) -> "Actor":
        user = request.user if request.user.is_authenticated else None
        in_admin = request.path.startswith("/admin/")
        return cls(
            user=user,
            ip_address=client_ip(request),
            is_staff_action=in_admin,
            is_mailbox_user=is_limited_to_mailbox(request),
        )

    @classmethod
    def system(cls) -> "Actor":
        return cls()

    @property
    def kind(self) -> str:
        if self.user is None:
            return AuditEntry.ActorKind.SYSTEM
        return AuditEntry.ActorKind.STAFF if self.is_staff_action else AuditEntry.ActorKind.USER

    @property
    def label(self) -> str:
        return self.user.email if self.user is not None else "system"


def client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def record(
    actor: Actor,
    action: str,
    *,
    customer: Customer | None = None,
    obj: models.Model | None = None,
    changes: dict | None = None,
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor.user,
        actor_kind=actor.kind,
        actor_label=actor.label,
        customer=customer,
        action=action,
        object_type=obj._meta.model_name if obj is not None else "",
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=str(obj)[:254] if obj is not None else "",
        changes={**(changes or {}), **({"signed_in_as": "mailbox"} if actor.is_mailbox_user else {})},
        ip_address=actor.ip_address,
    )
