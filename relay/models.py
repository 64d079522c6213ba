"""SMTP relay credentials for customers' applications, and the relay log assembled from the Postfix log.

The relay log is four tables:
- `RelayMessage`: one message Postfix queued, keyed by (host, queue id, received at), attributed to a customer;
- `RelayRecipient`: each recipient of a message with its current (eventually final) status; a final
  delivery attempt (sent, bounced) is recorded here only, as the timeline's entry for it;
- `RelayEvent`: the rest of a message's timeline (the other delivery attempts with the remote answer, expiry,
  bounce notification), deduplicated by a hash of the log line so re-ingesting the same lines adds nothing.
  `timeline_events` puts the two together;
- `RejectedAttempt`: a refused SMTP transaction (`NOQUEUE: reject`, milter rejects), never queued.
`IngestState` remembers how far each log file was read (offset and inode); `RelayLogSource` says which log
file belongs to which mail host, for the periodic ingest task.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import Customer


class RelayCredentialQuerySet(models.QuerySet):
    def for_customer(self, customer):
        return self.filter(customer=customer)


class RelayCredential(models.Model):
    """A username and secret an application uses on submission. Only the secret's hash is kept."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="relay_credentials", verbose_name=_("customer")
    )
    name = models.CharField(_("name"), max_length=80)
    username = models.CharField(_("username"), max_length=80, unique=True)
    secret_hash = models.CharField(max_length=255)
    domains = models.ManyToManyField(
        "mailaccounts.Domain", verbose_name=_("may send as"), related_name="relay_credentials"
    )
    is_enabled = models.BooleanField(_("enabled"), default=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revision = models.BigIntegerField(default=0, verbose_name=_("revision"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    objects = RelayCredentialQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("relay credential")
        verbose_name_plural = _("relay credentials")

    def __str__(self):
        return f"{self.name} ({self.username})"

    @property
    def live_state(self) -> str:
        """Live once every host of its domains applied its last change (a credential without domains: live)."""
        states = {d.mailhost.state_of(self.revision) for d in self.domains.all()}
        for state in ("failed", "pending"):
            if state in states:
                return state
        return "live"


class Status(models.TextChoices):
    """A recipient's status; a message's status is that of its worst recipient (see `worst_status`)."""

    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    DEFERRED = "deferred", _("Deferred")
    BOUNCED = "bounced", _("Bounced")
    EXPIRED = "expired", _("Expired")
    REJECTED = "rejected", _("Rejected")


# Worst first: a message with one bounced and one sent recipient is listed as bounced.
STATUS_SEVERITY = ["rejected", "bounced", "expired", "deferred", "queued", "sent"]
FINAL_STATUSES = {"sent", "bounced", "expired", "rejected"}
# A delivery attempt with one of these outcomes ends its recipient's story: the recipient row, which holds
# the outcome anyway, is its record in the timeline, and it gets no `RelayEvent` row of its own (see
# `RelayRecipient.line_key`). That spares the relay log a row for nearly every recipient.
RECORDED_BY_RECIPIENT = frozenset({"sent", "bounced"})


def worst_status(statuses) -> str:
    present = set(statuses)
    for status in STATUS_SEVERITY:
        if status in present:
            return status
    return Status.QUEUED


class Direction(models.TextChoices):
    OUTBOUND = "outbound", _("Sent by you")
    INBOUND = "inbound", _("Received for you")


class RelayMessageQuerySet(models.QuerySet):
    def for_customer(self, customer):
        return self.filter(customer=customer)


class RelayMessage(models.Model):
    host = models.CharField(_("mail host"), max_length=100)
    queue_id = models.CharField(_("queue id"), max_length=32)
    received_at = models.DateTimeField(_("received at"))
    # Both are indexed by the composite indexes in Meta (customer first; credential first), not on their own.
    # The relay log's foreign keys have no database constraint (db_constraint=False): the ingester alone
    # writes these rows, with ids it has just read, and deleting a customer or credential cascades or
    # clears them through Django. A checked key would cost a lookup per stored message at every commit.
    customer = models.ForeignKey(
        Customer,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="relay_messages",
        db_index=False,
        db_constraint=False,
        verbose_name=_("customer"),
    )
    credential = models.ForeignKey(
        RelayCredential,
        verbose_name=_("credential"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        db_index=False,
        db_constraint=False,
    )
    direction = models.CharField(_("direction"), max_length=10, choices=Direction, blank=True)
    sender = models.CharField(_("sender"), max_length=320, blank=True)
    sasl_username = models.CharField(_("SMTP user"), max_length=320, blank=True)
    client = models.CharField(_("client"), max_length=300, blank=True)
    client_ip = models.GenericIPAddressField(_("client IP"), null=True, blank=True)
    message_id = models.CharField(_("Message-ID"), max_length=500, blank=True)
    size = models.BigIntegerField(_("size"), null=True, blank=True)
    nrcpt = models.PositiveIntegerField(_("recipients"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.QUEUED)
    bounce_of = models.ForeignKey(
        "self",
        verbose_name=_("bounce notification for"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="bounce_notifications",
        db_constraint=False,
        db_index=False,  # indexed where set: relaymsg_bounce_of in Meta
    )
    bounce_queue_id = models.CharField(_("bounce notification queue id"), max_length=32, blank=True)
    removed_at = models.DateTimeField(_("left the queue at"), null=True, blank=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    objects = RelayMessageQuerySet.as_manager()

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # Queue id first: the same index finds a queue id on any host (staff search) and the messages
            # of a batch's queue ids on one host (ingest), so no index on the queue id alone is needed.
            models.UniqueConstraint(fields=["queue_id", "host", "received_at"], name="unique_relay_message")
        ]
        indexes = [
            models.Index(fields=["customer", "-received_at", "-id"], name="relaymsg_customer_time"),
            # Most mail is sent: looking for the rest is what this index is for, and leaving sent messages
            # out of it spares most stored messages one B-tree insert. (Sent ones are found through
            # relaymsg_customer_time: they are nearly all of a customer's newest messages.)
            models.Index(
                fields=["customer", "status", "-received_at"],
                name="relaymsg_customer_status",
                condition=~models.Q(status="sent"),
            ),
            models.Index(
                fields=["bounce_of"], name="relaymsg_bounce_of", condition=models.Q(bounce_of__isnull=False)
            ),
            # Only messages sent through a credential (inbound mail has none): a filter by credential names
            # one, so the index never needs the others, and they are spared its insert.
            models.Index(
                fields=["credential", "-received_at"],
                name="relaymsg_credential_time",
                condition=models.Q(credential__isnull=False),
            ),
            models.Index(fields=["message_id"], name="relaymsg_message_id"),
            models.Index(fields=["sender", "-received_at"], name="relaymsg_sender"),
            models.Index(fields=["received_at"], name="relaymsg_received_at"),
            models.Index(
                fields=["host", "bounce_queue_id"],
                name="relaymsg_bounce_qid",
                condition=~models.Q(bounce_queue_id=""),
            ),
        ]
        verbose_name = _("relayed message")
        verbose_name_plural = _("relay log")

    def __str__(self):
        return f"{self.host}/{self.queue_id}"


# Recipients and events are written only by the ingester, right after the message rows they belong to, and
# deleted with them (Django cascades); a database-level foreign key would only add a check per row at commit.
# Their `message` is indexed by the composite unique constraint / index that starts with it.
class RelayRecipient(models.Model):
    message = models.ForeignKey(
        RelayMessage, on_delete=models.CASCADE, related_name="recipients", db_constraint=False, db_index=False
    )
    address = models.CharField(_("recipient"), max_length=320)
    orig_to = models.CharField(_("original recipient"), max_length=320, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status, default=Status.QUEUED)
    dsn = models.CharField(_("DSN code"), max_length=12, blank=True)
    relay = models.CharField(_("relay"), max_length=300, blank=True)
    delay = models.FloatField(_("delay (s)"), null=True, blank=True)
    response = models.TextField(_("answer"), blank=True)
    at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    # Set when the row's outcome is a delivery attempt (sent, bounced) that has no event row of its own: the
    # hash of that log line. The row then stands for the attempt in the timeline (`recorded_attempt`); should
    # a later attempt replace the outcome, the ingester first stores this one as an event, under this key.
    line_key = models.BigIntegerField(null=True, blank=True)
    # The message's receipt time, copied: on PostgreSQL the table is partitioned by day on it, as the
    # messages are, so the nightly purge drops a day's recipients with its messages (`relay.partitions`).
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        ordering = ["id"]
        constraints = [
            # The partition key is in every unique constraint (PostgreSQL requires it); a message has one
            # receipt time, so the pair (message, received_at) is as unique as the message alone.
            models.UniqueConstraint(
                fields=["message", "address", "orig_to", "received_at"], name="unique_relay_recipient"
            )
        ]
        indexes = [
            models.Index(fields=["address"], name="relayrcpt_address"),
            models.Index(fields=["orig_to"], name="relayrcpt_orig_to", condition=~models.Q(orig_to="")),
        ]
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")

    def __str__(self):
        return self.address

    def recorded_attempt(self) -> "RelayEvent | None":
        """The delivery attempt this row stands for, as an (unsaved) event, or None."""
        if self.line_key is None:
            return None
        return RelayEvent(
            message_id=self.message_id, received_at=self.received_at, **recorded_attempt_fields(self)
        )


def recorded_attempt_fields(recipient) -> dict:
    """The event fields of the attempt a recipient (a row or a draft of one) stands for."""
    return {
        "at": recipient.at,
        "kind": RelayEvent.Kind.ATTEMPT.value,
        "line_key": recipient.line_key,
        "recipient": recipient.address,
        "status": recipient.status,
        "dsn": recipient.dsn,
        "relay": recipient.relay,
        "delay": recipient.delay,
        "response": recipient.response,
    }


def timeline_events(events, recipients) -> list["RelayEvent"]:
    """A message's whole timeline: its stored events and the attempts its recipients stand for, by time."""
    recorded = [event for event in map(RelayRecipient.recorded_attempt, recipients) if event is not None]
    return sorted([*events, *recorded], key=lambda event: event.at)


class RelayEvent(models.Model):
    """One line of a message's timeline. `line_key` (hash of host and log line) makes ingest idempotent.

    The final attempt of a recipient (sent, bounced) is kept on the recipient row instead: see
    `RelayRecipient.line_key` and `timeline_events`."""

    class Kind(models.TextChoices):
        ATTEMPT = "attempt", _("Delivery attempt")
        EXPIRED = "expired", _("Expired")
        BOUNCE_NOTICE = "bounce_notice", _("Bounce notification sent")
        REJECTED = "rejected", _("Rejected")

    # No index of its own: the unique (message, at, line_key) serves lookups by message and makes ingest
    # idempotent. It grows at its right end as messages are stored (ids ascend), where a unique index on
    # the line's hash alone took each new row to a random page of a large tree.
    message = models.ForeignKey(
        RelayMessage, on_delete=models.CASCADE, related_name="events", db_constraint=False, db_index=False
    )
    at = models.DateTimeField(_("at"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    recipient = models.CharField(_("recipient"), max_length=320, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status, blank=True)
    dsn = models.CharField(_("DSN code"), max_length=12, blank=True)
    relay = models.CharField(_("relay"), max_length=300, blank=True)
    delay = models.FloatField(_("delay (s)"), null=True, blank=True)
    response = models.TextField(_("answer"), blank=True)
    line_key = models.BigIntegerField()
    # The message's receipt time, the partition key (see `RelayRecipient.received_at`).
    received_at = models.DateTimeField(_("received at"))

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["message", "at", "line_key", "received_at"], name="unique_relay_event_line"
            )
        ]
        verbose_name = _("relay event")
        verbose_name_plural = _("relay events")

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.kind} {self.recipient}"


class RejectedAttemptQuerySet(models.QuerySet):
    def for_customer(self, customer):
        return self.filter(customer=customer)


class RejectedAttempt(models.Model):
    host = models.CharField(_("mail host"), max_length=100)
    at = models.DateTimeField(_("at"))
    queue_id = models.CharField(_("queue id"), max_length=32, blank=True)
    customer = models.ForeignKey(  # indexed by `relayreject_customer_time` (customer, -at)
        Customer,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="relay_rejections",
        db_index=False,
        db_constraint=False,
        verbose_name=_("customer"),
    )
    credential = models.ForeignKey(
        RelayCredential,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="rejections",
        db_constraint=False,
        verbose_name=_("relay credential"),
    )
    stage = models.CharField(_("stage"), max_length=30, blank=True)
    client = models.CharField(_("client"), max_length=300, blank=True)
    client_ip = models.GenericIPAddressField(_("client IP"), null=True, blank=True)
    sender = models.CharField(_("sender"), max_length=320, blank=True)
    recipient = models.CharField(_("recipient"), max_length=320, blank=True)
    dsn = models.CharField(_("DSN code"), max_length=12, blank=True)
    response = models.TextField(_("answer"), blank=True)
    line_key = models.BigIntegerField(verbose_name=_("log line key"))

    objects = RejectedAttemptQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            # With the partition key `at` (the line's own time, so no less unique than the line's hash).
            models.UniqueConstraint(fields=["line_key", "at"], name="unique_rejected_attempt_line")
        ]
        indexes = [
            models.Index(fields=["customer", "-at"], name="relayreject_customer_time"),
            models.Index(fields=["at"], name="relayreject_at"),
            # Staff and customers look refused attempts up by address (`relay.search`); by time within one.
            models.Index(fields=["sender", "-at"], name="relayreject_sender", condition=~models.Q(sender="")),
            models.Index(fields=["recipient", "-at"], name="relayreject_recipient"),
            models.Index(fields=["client_ip", "-at"], name="relayreject_client_ip"),
        ]
        verbose_name = _("rejected attempt")
        verbose_name_plural = _("rejected attempts")

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.sender} → {self.recipient}"


class RelayDailyCount(models.Model):
    """The customer's chart, rolled up: messages received per customer, day and status, refused attempts
    counted as rejected. Days are local (TIME_ZONE), as the chart shows them. Rebuilt from the raw rows for
    each day the ingest changed (`relay.rollup`); kept longer than the raw rows (`ROLLUP_RETENTION_DAYS`)."""

    customer = models.ForeignKey(  # indexed by the unique constraint, which starts with it
        Customer,
        on_delete=models.CASCADE,
        related_name="relay_daily_counts",
        db_index=False,
        verbose_name=_("customer"),
    )
    day = models.DateField(_("day"))
    status = models.CharField(_("status"), max_length=10, choices=Status)
    count = models.PositiveIntegerField(_("count"))

    class Meta:
        ordering = ["customer", "day", "status"]
        constraints = [
            models.UniqueConstraint(fields=["customer", "day", "status"], name="unique_relay_daily_count")
        ]
        indexes = [models.Index(fields=["day"], name="relaydaily_day")]
        verbose_name = _("daily relay count")
        verbose_name_plural = _("daily relay counts")

    def __str__(self):
        return f"{self.day} {self.status}: {self.count}"


class RelayDailyPending(models.Model):
    """A day whose raw rows the ingest changed since its counts were last rebuilt. Written in the same
    transaction as the rows, so a crash never leaves a day's counts behind; not unique, so marking a day
    never waits for another transaction (see `relay.rollup.refresh`)."""

    day = models.DateField(_("day"))

    class Meta:
        verbose_name = _("day to roll up")
        verbose_name_plural = _("days to roll up")

    def __str__(self):
        return str(self.day)


class RelayLogSource(models.Model):
    """The Postfix log file of a mail host (its `maillog_file`), read by the periodic ingest task."""

    mailhost = models.ForeignKey(
        "mailhosts.MailHost",
        on_delete=models.CASCADE,
        related_name="relay_log_sources",
        verbose_name=_("mail host"),
    )
    path = models.CharField(_("log file"), max_length=500)
    is_enabled = models.BooleanField(_("enabled"), default=True)

    class Meta:
        ordering = ["mailhost__name", "path"]
        constraints = [models.UniqueConstraint(fields=["mailhost", "path"], name="unique_relay_log_source")]
        verbose_name = _("relay log source")
        verbose_name_plural = _("relay log sources")

    def __str__(self):
        return f"{self.mailhost.name}: {self.path}"


class IngestState(models.Model):
    """How far a log file was read: the inode it had and the byte offset after the last whole line."""

    host = models.CharField(_("mail host"), max_length=100)
    path = models.CharField(_("log file"), max_length=500)
    inode = models.BigIntegerField(_("inode"), default=0)
    offset = models.BigIntegerField(_("offset"), default=0)
    lines = models.BigIntegerField(_("lines read"), default=0)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["host", "path"], name="unique_ingest_state")]
        verbose_name = _("ingest state")
        verbose_name_plural = _("ingest states")

    def __str__(self):
        return f"{self.host}: {self.path} @ {self.offset}"
