"""Mail host operations staff start from the admin: re-applying a host's configuration now."""

from django.db import transaction

from panel.audit import Actor, record

from ..models import MailHost


@transaction.atomic
def reapply_host(*, host: MailHost, actor: Actor) -> None:
    """Render and apply the host's whole configuration again, and run its reload steps, even if it is current.

    Clears nothing by itself: the host stays failed until an apply succeeds.
    """
    record(actor, "mailhost.reapply", obj=host)
    host_id = host.pk
    transaction.on_commit(lambda: enqueue_apply(host_id))


def enqueue_apply(host_id: int) -> None:
    from ..tasks import enqueue_apply_mailhost

    enqueue_apply_mailhost(host_id, force=True)
