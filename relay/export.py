"""The relay log as JSON Lines or CSV, streamed (constant memory) for the command and the panel's download.

JSON Lines: one object per message (`queue_id, host, received_at, sender, sasl_username, customer, message_id,
size, recipients` with `to, orig_to, status, dsn, relay, delay, response, at` each) and one per rejected
attempt (`queue_id: null, status: "rejected", client_ip, sender, to, dsn, response, at`), oldest first.
CSV: one row per recipient or rejected attempt.
"""

import csv
import heapq
import io
import json
from collections.abc import Iterator
from datetime import datetime

from django.db.models import Prefetch

from .models import RejectedAttempt, RelayMessage, RelayRecipient

CHUNK = 2_000
CSV_COLUMNS = [
    "received_at",
    "queue_id",
    "host",
    "customer",
    "sender",
    "sasl_username",
    "message_id",
    "size",
    "to",
    "orig_to",
    "status",
    "dsn",
    "relay",
    "delay",
    "response",
    "at",
    "client_ip",
]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def message_record(message: RelayMessage) -> dict:
    return {
        "queue_id": message.queue_id,
        "host": message.host,
        "received_at": _iso(message.received_at),
        "sender": message.sender,
        "sasl_username": message.sasl_username,
        "customer": message.customer_id,
        "message_id": message.message_id,
        "size": message.size,
        "recipients": [
            {
                "to": r.address,
                "orig_to": r.orig_to,
                "status": r.status,
                "dsn": r.dsn,
                "relay": r.relay,
                "delay": r.delay,
                "response": r.response,
                "at": _iso(r.at),
            }
            for r in message.recipients.all()
        ],
    }


def reject_record(reject: RejectedAttempt) -> dict:
    return {
        "queue_id": None,
        "status": "rejected",
        "client_ip": reject.client_ip,
        "sender": reject.sender,
        "to": reject.recipient,
        "dsn": reject.dsn,
        "response": reject.response,
        "at": _iso(reject.at),
    }


def records(
    *,
    customer_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    messages=None,
    rejects=None,
) -> Iterator[dict]:
    """Messages and rejected attempts in time order, as export records.

    `messages` and `rejects` may be pre-filtered querysets (the panel's filters).
    """
    if messages is None:
        messages = RelayMessage.objects.all()
        if customer_id is not None:
            messages = messages.filter(customer_id=customer_id)
    if rejects is None:
        rejects = RejectedAttempt.objects.all()
        if customer_id is not None:
            rejects = rejects.filter(customer_id=customer_id)
    if since is not None:
        messages, rejects = messages.filter(received_at__gte=since), rejects.filter(at__gte=since)
    if until is not None:
        messages, rejects = messages.filter(received_at__lt=until), rejects.filter(at__lt=until)
    messages = messages.order_by("received_at", "id").prefetch_related(
        Prefetch("recipients", queryset=RelayRecipient.objects.order_by("id"))
    )
    message_stream = ((m.received_at, 0, message_record(m)) for m in messages.iterator(chunk_size=CHUNK))
    reject_stream = (
        (r.at, 1, reject_record(r)) for r in rejects.order_by("at", "id").iterator(chunk_size=CHUNK)
    )
    for _at, _order, record in heapq.merge(
        message_stream, reject_stream, key=lambda item: (item[0], item[1])
    ):
        yield record


def jsonl_lines(stream: Iterator[dict]) -> Iterator[str]:
    for record in stream:
        yield json.dumps(record, ensure_ascii=False) + "\n"


def csv_lines(stream: Iterator[dict]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def flush() -> str:
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    writer.writerow(CSV_COLUMNS)
    yield flush()
    for record in stream:
        for row in _csv_rows(record):
            writer.writerow([_csv_safe(row.get(column)) for column in CSV_COLUMNS])
        yield flush()


def _csv_rows(record: dict) -> list[dict]:
    if record["queue_id"] is None:
        return [{**record, "received_at": record["at"]}]
    base = {key: value for key, value in record.items() if key != "recipients"}
    return [{**base, **recipient} for recipient in record["recipients"]] or [base]


def _csv_safe(value) -> str:
    """No formula injection when the CSV is opened in a spreadsheet (addresses and answers come from strangers)."""
    if value is None:
        return ""
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
