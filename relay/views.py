"""Relay credentials and the relay log in the customer panel. Thin views over services and search."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from mailaccounts.models import Mailbox
from mailhosts.annotations import message_notes
from tenants.access import mail_role_required
from tenants.audit import Actor
from tenants.dates import date_formatter

from . import services
from .dsn import explain, next_retry
from .export import csv_lines, records
from .forms import CredentialForm, MessageFilterForm
from .models import (
    Direction,
    RejectedAttempt,
    RelayCredential,
    RelayEvent,
    RelayMessage,
    Status,
    timeline_events,
)
from .policy import usage
from .search import daily_chart, filter_messages, filter_rejects, page_of

REJECTS_SHOWN = 20


def get_credential_or_404(request, pk: int) -> RelayCredential:
    return get_object_or_404(RelayCredential.objects.for_customer(request.customer), pk=pk)


def get_message_or_404(request, pk: int) -> RelayMessage:
    queryset = RelayMessage.objects.for_customer(request.customer).select_related("credential", "bounce_of")
    return get_object_or_404(queryset, pk=pk)


def _secret_page(request, credential: RelayCredential, secret: str, *, new: bool):
    context = {"credential": credential, "secret": secret, "new": new, "smtp_host": settings.RELAY_SMTP_HOST}
    response = render(request, "relay/credential_secret.html", context)
    response["Cache-Control"] = "no-store"
    return response


# ---------------------------------------------------------------------------------------------------------
# Credentials


@mail_role_required
def credential_list(request):
    credentials = list(
        RelayCredential.objects.for_customer(request.customer).prefetch_related("domains__mailhost")
    )
    mailboxes = list(Mailbox.objects.for_customer(request.customer).active().select_related("domain"))
    sent = usage([c.username for c in credentials] + [m.address for m in mailboxes])
    limit = request.customer.plan.hourly_send_limit
    return render(
        request,
        "relay/credential_list.html",
        {
            "credentials": [(c, sent.get(c.username)) for c in credentials],
            "mailboxes": [(m, sent.get(m.address)) for m in mailboxes],
            "limit": limit,
            "smtp_host": settings.RELAY_SMTP_HOST,
        },
    )


@mail_role_required
@never_cache
def credential_add(request):
    form = CredentialForm(request.POST or None, customer=request.customer)
    if request.method == "POST" and form.is_valid():
        try:
            credential, secret = services.create_credential(
                customer=request.customer,
                name=form.cleaned_data["name"],
                domains=form.cleaned_data["domains"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            # The secret exists only in this response; it is never stored, so there is nothing to redirect to.
            return _secret_page(request, credential, secret, new=True)
    return render(request, "relay/credential_form.html", {"form": form})


@mail_role_required
def credential_detail(request, pk: int):
    credential = get_credential_or_404(request, pk)
    initial = {"name": credential.name, "domains": list(credential.domains.all())}
    form = CredentialForm(request.POST or None, customer=request.customer, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.update_credential(
                credential=credential,
                name=form.cleaned_data["name"],
                domains=form.cleaned_data["domains"],
                actor=Actor.from_request(request),
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The credential was saved."))
            return redirect("relay:credential_detail", pk=credential.pk)
    return render(
        request,
        "relay/credential_detail.html",
        {
            "credential": credential,
            "form": form,
            "sent": usage([credential.username]).get(credential.username),
            "limit": request.customer.plan.hourly_send_limit,
            "smtp_host": settings.RELAY_SMTP_HOST,
        },
    )


@mail_role_required
@require_POST
@never_cache
def credential_secret(request, pk: int):
    credential = get_credential_or_404(request, pk)
    secret = services.rotate_credential_secret(credential=credential, actor=Actor.from_request(request))
    return _secret_page(request, credential, secret, new=False)


@mail_role_required
@require_POST
def credential_toggle(request, pk: int):
    credential = get_credential_or_404(request, pk)
    enabled = not credential.is_enabled
    services.set_credential_enabled(credential=credential, enabled=enabled, actor=Actor.from_request(request))
    messages.success(
        request, _("The credential was enabled.") if enabled else _("The credential was disabled.")
    )
    return redirect("relay:credential_detail", pk=credential.pk)


@mail_role_required
@require_POST
def credential_delete(request, pk: int):
    credential = get_credential_or_404(request, pk)
    services.delete_credential(credential=credential, actor=Actor.from_request(request))
    messages.success(request, _("The credential was deleted."))
    return redirect("relay:credential_list")


# ---------------------------------------------------------------------------------------------------------
# The relay log


def _filters(request) -> tuple[MessageFilterForm, dict]:
    form = MessageFilterForm(request.GET or None, customer=request.customer)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    return form, filters


def attach_notes(rows) -> None:
    """Other capabilities' notes on these messages or refused attempts (the spam filter's verdict and reasons),
    as `row.notes`."""
    notes = message_notes((row.host, row.queue_id) for row in rows)
    for row in rows:
        row.notes = notes.get((row.host, row.queue_id), [])


@mail_role_required
def message_list(request):
    form, filters = _filters(request)
    messages_qs = filter_messages(RelayMessage.objects.for_customer(request.customer), filters)
    page = page_of(messages_qs, request.GET.get("after"))
    rejects = []
    if page.is_first:
        rejects = list(
            filter_rejects(RejectedAttempt.objects.for_customer(request.customer), filters).order_by(
                "-at", "-id"
            )[:REJECTS_SHOWN]
        )
    attach_notes([*page.messages, *rejects])
    directions = {value: str(label) for value, label in Direction.choices}  # translated once, not per row
    received = date_formatter("SHORT_DATETIME_FORMAT")  # the format looked up once, not per row
    for reject in rejects:
        reject.at_label = received(reject.at)
    for message in page.messages:
        message.received_label = received(message.received_at)
        # the first three recipients' addresses and how many more
        addresses = message.recipient_addresses
        message.recipients_shown, message.recipients_more = addresses[:3], max(0, len(addresses) - 3)
        message.direction_label = directions.get(message.direction, message.direction)
    query = request.GET.copy()
    query.pop("after", None)
    chart = daily_chart(request.customer)
    long_date, month_day, short_date = (
        date_formatter(name) for name in ("DATE_FORMAT", "MONTH_DAY_FORMAT", "j/n")
    )
    for day in chart:  # each day's three labels, formatted here: 14 days, one per bar segment
        day.long_label = long_date(day.day)
        day.month_day_label, day.short_label = month_day(day.day), short_date(day.day)
        day.segments = [
            (status, str(label), count, percent) for status, label, count, percent in day.segments
        ]
    return render(
        request,
        "relay/message_list.html",
        {
            "form": form,
            "page": page,
            "rejects": rejects,
            "chart": chart,
            "chart_total": sum(day.total for day in chart),
            "chart_max": max((day.total for day in chart), default=0),
            "query": query.urlencode(),
        },
    )


@mail_role_required
def message_detail(request, pk: int):
    message = get_message_or_404(request, pk)
    # Named by the message's receipt time too: one day's partition is read (`relay.partitions`).
    recipients = list(message.recipients.filter(received_at=message.received_at))
    events = timeline_events(message.events.filter(received_at=message.received_at), recipients)
    notifications = list(message.bounce_notifications.filter(customer=request.customer))
    attach_notes([message])
    return render(
        request,
        "relay/message_detail.html",
        {
            "message": message,
            "recipients": [(r, explain(r.dsn, r.response)) for r in recipients],
            "timeline": _timeline(message, events, recipients),
            "notifications": notifications,
        },
    )


def _timeline(message: RelayMessage, events: list[RelayEvent], recipients: list) -> list[dict]:
    """Received, every attempt (with the remote answer and, for a pending deferral, the next retry), the end."""
    still_deferred = {r.address for r in recipients if r.status == Status.DEFERRED}
    last_attempt = {}
    for event in events:
        if event.kind == RelayEvent.Kind.ATTEMPT:
            last_attempt[event.recipient] = event
    items = [{"at": message.received_at, "kind": "received"}]
    for event in events:
        item = {
            "at": event.at,
            "kind": event.kind,
            "event": event,
            "explanation": explain(event.dsn, event.response),
        }
        if last_attempt.get(event.recipient) is event and event.recipient in still_deferred:
            item["next_retry"] = next_retry(received_at=message.received_at, deferred_at=event.at)
        items.append(item)
    if message.removed_at:
        items.append({"at": message.removed_at, "kind": "removed"})
    return items


@mail_role_required
def message_export(request):
    """The filtered relay log as CSV, streamed: rows are written as they are read."""
    _form, filters = _filters(request)
    queryset = filter_messages(RelayMessage.objects.for_customer(request.customer), filters)
    rejects = filter_rejects(RejectedAttempt.objects.for_customer(request.customer), filters)
    stream = records(messages=queryset, rejects=rejects)
    response = StreamingHttpResponse(csv_lines(stream), content_type="text/csv; charset=utf-8")
    filename = f"relay-log-{timezone.localdate():%Y-%m-%d}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
