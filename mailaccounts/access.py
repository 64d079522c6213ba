"""Access: one function per protected type, scoped to the request's customer. Another customer's object
does not exist for them: a 404, never a 403 that confirms it exists."""

from django.contrib import messages
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from .models import Alias, Domain, Mailbox


def get_domain_or_404(request, pk: int) -> Domain:
    queryset = Domain.objects.for_customer(request.customer).select_related("mailhost", "customer")
    return get_object_or_404(queryset, pk=pk)


def get_mailbox_or_404(request, pk: int, *, include_deleted: bool = False) -> Mailbox:
    mailboxes = Mailbox.objects.for_customer(request.customer).select_related(
        "domain__mailhost", "customer__plan"
    )
    if not include_deleted:
        mailboxes = mailboxes.active()
    return get_object_or_404(mailboxes, pk=pk)


def get_alias_or_404(request, pk: int) -> Alias:
    return get_object_or_404(
        Alias.objects.for_customer(request.customer).select_related("domain__mailhost"), pk=pk
    )


def refuse_if_suspended(request) -> bool:
    if request.customer.is_suspended:
        messages.error(request, _("This account is suspended; nothing can be changed."))
        return True
    return False
