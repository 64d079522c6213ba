"""Customer pages for backups: recently deleted mail, restores from backups and their progress, and the
backups of removed mailboxes. Thin: look up through the access functions (another customer's mailbox,
restore or snapshot is a 404), validate, call the service, redirect.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from mailaccounts.access import get_mailbox_or_404, mailbox_access_required, refuse_if_suspended
from mailaccounts.models import Mailbox
from tenants.access import mail_role_required
from tenants.audit import Actor

from . import services
from .forms import DeletedRestoreForm, DeletedSearchForm, PurgedRestoreForm, RestoreForm
from .models import Restore, SnapshotMailbox


def get_restore_or_404(request, mailbox: Mailbox, pk: int) -> Restore:
    return get_object_or_404(Restore.objects.for_customer(request.customer).filter(mailbox=mailbox), pk=pk)


def get_purged_source_or_404(request, pk: int) -> SnapshotMailbox:
    return get_object_or_404(
        SnapshotMailbox.objects.for_customer(request.customer).purged().select_related("snapshot"), pk=pk
    )


def add_errors(form, error: ValidationError) -> None:
    for message in error.messages:
        form.add_error(None, message)


@mail_role_required
def overview(request):
    mailboxes = Mailbox.objects.for_customer(request.customer).active().select_related("domain")
    restores = Restore.objects.for_customer(request.customer).select_related("mailbox__domain")[:20]
    return render(
        request,
        "backups/overview.html",
        {"mailboxes": mailboxes, "restores": restores, "purged": services.purged_mailboxes(request.customer)},
    )


@mailbox_access_required
def deleted_list(request, pk):
    mailbox = get_mailbox_or_404(request, pk)
    form = DeletedSearchForm(request.GET or None)
    found, problem = [], ""
    if form.is_valid() or not request.GET:
        search = form.cleaned_data.get("q", "") if request.GET else ""
        try:
            found = services.deleted_messages(mailbox=mailbox, search=search)
        except ValidationError as error:
            problem = " ".join(error.messages)
        except services.DoveadmUnavailable:
            problem = _("The mail server cannot be reached right now. Try again in a few minutes.")
    return render(
        request,
        "backups/deleted_list.html",
        {
            "mailbox": mailbox,
            "form": form,
            "messages_found": found,
            "problem": problem,
            "trash": services.TRASH,
        },
    )


@mailbox_access_required
@require_POST
def deleted_restore(request, pk):
    mailbox = get_mailbox_or_404(request, pk)
    if refuse_if_suspended(request):
        return redirect("backups:deleted_list", pk=mailbox.pk)
    form = DeletedRestoreForm(request.POST)
    if not form.is_valid():
        raise Http404
    try:
        folder = services.restore_deleted_message(
            actor=Actor.from_request(request),
            mailbox=mailbox,
            folder=form.cleaned_data["folder"],
            guid=form.cleaned_data["guid"],
        )
    except services.NotFound:
        raise Http404 from None
    except services.DoveadmUnavailable:
        messages.error(request, _("The mail server cannot be reached right now. Nothing was changed."))
    else:
        messages.success(request, _("The message is back in %(folder)s.") % {"folder": folder})
    return redirect("backups:deleted_list", pk=mailbox.pk)


@mailbox_access_required
def restore_start(request, pk):
    mailbox = get_mailbox_or_404(request, pk)
    sources = list(services.snapshots_of(mailbox))
    data = request.POST if request.method == "POST" else (request.GET if "day" in request.GET else None)
    form = RestoreForm(data, sources=sources)
    source = None
    if data is not None and form.is_valid():
        source = form.source
        if request.method == "POST" and refuse_if_suspended(request):
            return redirect("backups:restore_start", pk=mailbox.pk)
        if request.method == "POST":
            try:
                restore = services.request_restore(
                    actor=Actor.from_request(request),
                    mailbox=mailbox,
                    source=source,
                    folder=form.cleaned_data["folder"],
                )
            except ValidationError as error:
                add_errors(form, error)
            else:
                return redirect("backups:restore_detail", pk=mailbox.pk, restore_pk=restore.pk)
    days = []
    for item in sources:
        if not days or days[-1].snapshot.day != item.snapshot.day:
            days.append(item)
    return render(
        request,
        "backups/restore_start.html",
        {
            "mailbox": mailbox,
            "form": form,
            "days": days,
            "source": source,
            "free_bytes": services.free_bytes(mailbox),
            "restores": Restore.objects.filter(mailbox=mailbox)[:10],
        },
    )


@mailbox_access_required
def restore_detail(request, pk, restore_pk):
    mailbox = get_mailbox_or_404(request, pk, include_deleted=True)
    restore = get_restore_or_404(request, mailbox, restore_pk)
    return render(request, "backups/restore_detail.html", {"mailbox": mailbox, "restore": restore})


@mailbox_access_required
def restore_progress(request, pk, restore_pk):
    mailbox = get_mailbox_or_404(request, pk, include_deleted=True)
    restore = get_restore_or_404(request, mailbox, restore_pk)
    return JsonResponse(
        {
            "status": restore.status,
            "status_label": restore.get_status_display(),
            "percent": restore.percent,
            "done": restore.messages_done,
            "total": restore.messages_total,
            "target_folder": restore.target_folder,
            "error": restore.error,
            "finished": not restore.is_active,
        }
    )


@mail_role_required
def purged_restore(request, source_pk):
    source = get_purged_source_or_404(request, source_pk)
    mailboxes = Mailbox.objects.for_customer(request.customer).active().select_related("domain")
    form = PurgedRestoreForm(request.POST or None, mailboxes=mailboxes)
    if request.method == "POST" and refuse_if_suspended(request):
        return redirect("backups:overview")
    if request.method == "POST" and form.is_valid():
        try:
            restore = services.request_restore(
                actor=Actor.from_request(request),
                mailbox=form.cleaned_data["mailbox"],
                source=source,
                folder=form.cleaned_data["folder"],
            )
        except ValidationError as error:
            add_errors(form, error)
        else:
            return redirect("backups:restore_detail", pk=restore.mailbox_id, restore_pk=restore.pk)
    return render(request, "backups/purged_restore.html", {"source": source, "form": form})
