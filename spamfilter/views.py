"""Customer pages of the spam filter: an overview, a domain's and a mailbox's settings and lists.

Thin views: the domain or mailbox comes through mailaccounts' access functions (another customer's is a 404),
forms validate, the services change things. A refused change re-renders the page with the message and
what was typed; nothing is saved.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from mailaccounts.access import get_domain_or_404, get_mailbox_or_404, mailbox_access_required
from mailaccounts.models import Domain
from mailaccounts.views.mailboxes import attach_errors
from tenants.access import mail_role_required
from tenants.audit import Actor

from . import services
from .entries import display_entry
from .forms import ListEntriesForm, MailboxPolicyForm, PolicyForm
from .models import Direction, ListKind, OutboundFlag, SenderListEntry, SpamResult, Verdict

RECENT = 50


def policy_initial(policy) -> dict:
    return {
        "is_enabled": policy.is_enabled,
        "sensitivity": policy.sensitivity,
        "reject_score": policy.reject_score,
    }


def list_forms(bound: ListEntriesForm | None = None) -> dict[str, ListEntriesForm]:
    forms = {kind: ListEntriesForm(initial={"kind": kind}, auto_id=f"{kind}_%s") for kind in ListKind.values}
    if bound is not None:
        forms[bound.initial_kind] = bound
    return forms


def bound_list_form(request) -> ListEntriesForm:
    kind = request.POST.get("kind") if request.POST.get("kind") in ListKind.values else ListKind.ALLOW
    form = ListEntriesForm({"kind": kind, "entries": request.POST.get("entries", "")}, auto_id=f"{kind}_%s")
    form.initial_kind = kind
    return form


LIST_TEXT = {
    ListKind.ALLOW: _lazy(
        "Mail from these senders is never filed as spam or refused by its score. A domain's list applies to "
        "all its mailboxes; a mailbox's own lists come first."
    ),
    ListKind.BLOCK: _lazy(
        "Mail from these senders is refused while they are still connected; they are told it was not accepted."
    ),
}


def lists_context(domain, mailbox=None, bound: ListEntriesForm | None = None) -> dict:
    entries = list(services.list_entries(domain, mailbox))
    forms = list_forms(bound)
    return {
        "lists": [
            (
                kind,
                [(e, display_entry(e.value)) for e in entries if e.kind == kind],
                label,
                LIST_TEXT[kind],
                forms[kind],
            )
            for kind, label in ListKind.choices
        ]
    }


def recent_results(**filters):
    return SpamResult.objects.filter(
        direction=Direction.INBOUND, verdict__in=[Verdict.JUNK, Verdict.REFUSED], **filters
    ).order_by("-at")[:RECENT]


# Overview --------------------------------------------------------------------------------------------------


@mail_role_required
def overview(request):
    domains = list(
        Domain.objects.for_customer(request.customer)
        .select_related("mailhost", "spam_policy")
        .order_by("name")
    )
    rows = (
        SpamResult.objects.filter(
            customer=request.customer,
            direction=Direction.INBOUND,
            at__gte=timezone.now() - timedelta(days=30),
        )
        .values_list("domain_id", "verdict")
        .annotate(n=Count("id"))
        .order_by()
    )
    counts: dict[int, dict[str, int]] = {}
    for domain_id, verdict, n in rows:
        counts.setdefault(domain_id, dict.fromkeys(Verdict.values, 0))[verdict] = n
    return render(
        request,
        "spamfilter/overview.html",
        {
            "domains": [
                (domain, getattr(domain, "spam_policy", None), counts.get(domain.pk, {}))
                for domain in domains
            ],
            "results": recent_results(customer=request.customer),
            "flags": OutboundFlag.objects.filter(customer=request.customer, resolved_at__isnull=True),
        },
    )


# A domain ------------------------------------------------------------------------------------------------


def render_domain(request, domain, *, form=None, list_form=None, status=200):
    policy = services.domain_policy(domain)
    context = {
        "domain": domain,
        "policy": policy,
        "form": form or PolicyForm(initial=policy_initial(policy)),
        "counts": services.domain_counts(domain),
        "results": recent_results(domain=domain),
        **lists_context(domain, None, list_form),
    }
    return render(request, "spamfilter/domain.html", context, status=status)


@mail_role_required
def domain_settings(request, pk):
    domain = get_domain_or_404(request, pk)
    if request.method != "POST":
        return render_domain(request, domain)
    form = PolicyForm(request.POST)
    if form.is_valid():
        try:
            services.update_domain_policy(
                actor=Actor.from_request(request), domain=domain, **form.cleaned_data
            )
        except ValidationError as error:
            attach_errors(form, error)
        else:
            messages.success(request, _("Spam filter settings of %(domain)s saved.") % {"domain": domain})
            return redirect("spamfilter:domain", pk=domain.pk)
    return render_domain(request, domain, form=form, status=400)


@require_POST
@mail_role_required
def domain_list_add(request, pk):
    domain = get_domain_or_404(request, pk)
    form = bound_list_form(request)
    if form.is_valid():
        try:
            added = services.add_list_entries(
                actor=Actor.from_request(request),
                domain=domain,
                kind=form.initial_kind,
                text=form.cleaned_data["entries"],
            )
        except ValidationError as error:
            form.add_error("entries", error)
        else:
            messages.success(request, added_message(form.initial_kind, added))
            return redirect("spamfilter:domain", pk=domain.pk)
    return render_domain(request, domain, list_form=form, status=400)


@require_POST
@mail_role_required
def domain_list_remove(request, pk, entry_pk):
    domain = get_domain_or_404(request, pk)
    entry = get_object_or_404(SenderListEntry, pk=entry_pk, domain=domain, mailbox__isnull=True)
    services.remove_list_entry(actor=Actor.from_request(request), entry=entry)
    messages.success(request, _("%(entry)s removed.") % {"entry": display_entry(entry.value)})
    return redirect("spamfilter:domain", pk=domain.pk)


def added_message(kind: str, added) -> str:
    if kind == ListKind.ALLOW:
        return _("Added to the allow list: %(entries)s.") % {
            "entries": ", ".join(display_entry(e.value) for e in added)
        }
    return _("Added to the block list: %(entries)s.") % {
        "entries": ", ".join(display_entry(e.value) for e in added)
    }


# A mailbox -----------------------------------------------------------------------------------------------


def mailbox_initial(policy) -> dict:
    return {**policy_initial(policy), "inherits": policy.inherits, "junk_days": policy.junk_days}


def render_mailbox(request, mailbox, *, form=None, list_form=None, status=200):
    policy = services.mailbox_policy(mailbox)
    context = {
        "mailbox": mailbox,
        "policy": policy,
        "domain_policy": services.domain_policy(mailbox.domain),
        "form": form or MailboxPolicyForm(initial=mailbox_initial(policy)),
        "counts": services.mailbox_counts(mailbox),
        "results": recent_results(mailbox=mailbox),
        **lists_context(mailbox.domain, mailbox, list_form),
    }
    return render(request, "spamfilter/mailbox.html", context, status=status)


@mailbox_access_required
def mailbox_settings(request, pk):
    mailbox = get_mailbox_or_404(request, pk)
    if request.method != "POST":
        return render_mailbox(request, mailbox)
    form = MailboxPolicyForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            services.update_mailbox_policy(
                actor=Actor.from_request(request),
                mailbox=mailbox,
                inherits=data["inherits"],
                is_enabled=data["is_enabled"],
                sensitivity=data["sensitivity"] or services.mailbox_policy(mailbox).sensitivity,
                reject_score=data["reject_score"] or services.mailbox_policy(mailbox).reject_score,
                junk_days=data["junk_days"],
            )
        except ValidationError as error:
            attach_errors(form, error)
        else:
            messages.success(
                request,
                _("Spam filter settings of %(address)s saved.") % {"address": mailbox.unicode_address},
            )
            return redirect("spamfilter:mailbox", pk=mailbox.pk)
    return render_mailbox(request, mailbox, form=form, status=400)


@require_POST
@mailbox_access_required
def mailbox_list_add(request, pk):
    mailbox = get_mailbox_or_404(request, pk)
    form = bound_list_form(request)
    if form.is_valid():
        try:
            added = services.add_list_entries(
                actor=Actor.from_request(request),
                domain=mailbox.domain,
                mailbox=mailbox,
                kind=form.initial_kind,
                text=form.cleaned_data["entries"],
            )
        except ValidationError as error:
            form.add_error("entries", error)
        else:
            messages.success(request, added_message(form.initial_kind, added))
            return redirect("spamfilter:mailbox", pk=mailbox.pk)
    return render_mailbox(request, mailbox, list_form=form, status=400)


@require_POST
@mailbox_access_required
def mailbox_list_remove(request, pk, entry_pk):
    mailbox = get_mailbox_or_404(request, pk)
    entry = get_object_or_404(SenderListEntry, pk=entry_pk, mailbox=mailbox)
    services.remove_list_entry(actor=Actor.from_request(request), entry=entry)
    messages.success(request, _("%(entry)s removed.") % {"entry": display_entry(entry.value)})
    return redirect("spamfilter:mailbox", pk=mailbox.pk)
