"""Mail host operations for staff: re-applying a host's whole configuration."""

from django.db import transaction

from tenants.audit import Actor, record

from .models import MailHost
from .tasks import enqueue_apply_mailhost


@transaction.atomic
def reapply_host(*, host: MailHost, actor: Actor) -> None:
    """Render and apply the host's whole configuration again, and run its reload steps, even if it is current.

    Clears nothing by itself: the host stays failed until an apply succeeds.
    """
    record(actor, "mailhost.reapply", obj=host)
    host_id = host.pk
    transaction.on_commit(lambda: enqueue_apply_mailhost(host_id, force=True))
