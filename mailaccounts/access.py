"""Access: one function per protected type, scoped to the request's customer. Another customer's object
does not exist for them: a 404, never a 403 that confirms it exists.

A mailbox's own user (a `MailboxUser` login) is limited to that one mailbox: `get_mailbox_or_404` finds
only it, and every other lookup here is a 404 for them (customer-wide pages are refused earlier, by
`tenants.access.customer_required`).
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy as _

from tenants.access import mark_open_to_mailbox_user, may_manage_mail, role_required

from .models import Alias, Domain, Mailbox, MailboxUser

_UNSET = object()


def own_mailbox(user) -> Mailbox | None:
    """The one mailbox a mailbox-user login is limited to; None for customer panel users, staff and
    anonymous visitors. Never None for a mailbox login, even when its mailbox is disabled or deleted
    (the middleware signs such a session out), so `None` always means "not limited to a mailbox"."""
    if user is None or not user.is_authenticated:
        return None
    cached = getattr(user, "_own_mailbox", _UNSET)
    if isinstance(cached, Mailbox) or cached is None:
        return cached
    # one light query for every signed-in request (most are customer users, without a link)
    mailbox_id = MailboxUser.objects.filter(user_id=user.pk).values_list("mailbox_id", flat=True).first()
    mailbox = None
    if mailbox_id is not None:
        mailbox = Mailbox.objects.select_related("domain__mailhost", "customer__plan").get(pk=mailbox_id)
    user._own_mailbox = mailbox  # once per request (the middleware asks first)
    return mailbox


def note_no_mailbox_login(request) -> None:
    """When the request's membership query already read that its user has no mailbox login (the
    `mailbox_login_id` it carries, registered in apps.py), `own_mailbox` answers None without a query of its
    own. A user with a membership and a mailbox login (or without a membership) is looked up as before."""
    membership = getattr(request, "membership", None)
    if membership is not None and getattr(membership, "mailbox_login_id", _UNSET) is None:
        request.user._own_mailbox = None


def is_mailbox_user(request) -> bool:
    return own_mailbox(getattr(request, "user", None)) is not None


def may_use_mailbox_pages(request) -> bool:
    """The mailbox pages' rule: the mailbox's own user, or a customer user who manages mail."""
    if is_mailbox_user(request):
        return True
    return getattr(request, "customer", None) is not None and may_manage_mail(
        getattr(request, "membership", None)
    )


def mailbox_access_required(view):
    """For the pages of one mailbox a mailbox's own user may use (password, automatic reply, forwarding,
    spam settings, devices, deleted mail): their own mailbox, or any of the customer's for owners and
    members (as `mail_role_required`). The view must find the mailbox with `get_mailbox_or_404`."""
    for_members = role_required(may_manage_mail)(view)

    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if is_mailbox_user(request):
            return view(request, *args, **kwargs)
        return for_members(request, *args, **kwargs)

    return mark_open_to_mailbox_user(wrapper)


def refuse_mailbox_user(request) -> None:
    if is_mailbox_user(request):
        raise Http404


def get_domain_or_404(request, pk: int) -> Domain:
    refuse_mailbox_user(request)
    queryset = Domain.objects.for_customer(request.customer).select_related("mailhost", "customer")
    return get_object_or_404(queryset, pk=pk)


def get_mailbox_or_404(request, pk: int, *, include_deleted: bool = False) -> Mailbox:
    """The customer's mailbox `pk`; for a mailbox's own user only their own mailbox (and only while it is
    not deleted), every other id a 404."""
    mailboxes = Mailbox.objects.for_customer(request.customer).select_related(
        "domain__mailhost", "customer__plan"
    )
    own = own_mailbox(getattr(request, "user", None))
    if own is not None:
        mailboxes, include_deleted = mailboxes.filter(pk=own.pk), False
    if not include_deleted:
        mailboxes = mailboxes.active()
    return get_object_or_404(mailboxes, pk=pk)


def get_alias_or_404(request, pk: int) -> Alias:
    refuse_mailbox_user(request)
    return get_object_or_404(
        Alias.objects.for_customer(request.customer).select_related("domain__mailhost"), pk=pk
    )


def refuse_if_suspended(request) -> bool:
    if request.customer.is_suspended:
        messages.error(request, _("This account is suspended; nothing can be changed."))
        return True
    return False
