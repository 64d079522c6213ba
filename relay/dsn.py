"""DSN status codes (RFC 3463) explained in plain language for the relay log, and Postfix's retry timing."""

from datetime import datetime, timedelta

from django.utils.translation import gettext_lazy as _

# The exact codes customers meet most; anything else falls back to its class and subject.
EXPLANATIONS = {
    "2.0.0": _("Delivered: the receiving server accepted the message."),
    "2.6.0": _("Delivered: the receiving server accepted the message."),
    "4.1.8": _("The sender's domain could not be checked right now; we will try again."),
    "4.2.0": _("The recipient's mailbox is temporarily unavailable; we will try again."),
    "4.2.2": _("The recipient's mailbox is full for now; we keep trying for a few days."),
    "4.3.0": _("The receiving mail system had a temporary problem; we will try again."),
    "4.3.2": _("The receiving server is not accepting mail right now; we will try again."),
    "4.4.1": _(
        "The receiving server could not be reached (no answer or connection refused); we will try again."
    ),
    "4.4.2": _("The connection to the receiving server broke off; we will try again."),
    "4.4.3": _("The recipient's domain could not be looked up right now (DNS); we will try again."),
    "4.4.7": _("The message waited too long in the queue and was given up."),
    "4.7.0": _("The receiving server temporarily refused the message for security or policy reasons."),
    "4.7.1": _(
        "Temporarily refused: the receiving server asks us to try again later (often greylisting or a sending "
        "limit). We retry automatically."
    ),
    "5.0.0": _("The receiving server refused the message permanently."),
    "5.1.0": _("The recipient's address was refused."),
    "5.1.1": _("This address does not exist: check the recipient's address for typing errors."),
    "5.1.2": _("The recipient's domain does not exist or does not receive mail."),
    "5.1.3": _("The recipient's address is not a valid e-mail address."),
    "5.1.8": _("The sender's address or domain was refused by the receiving server."),
    "5.1.10": _("The recipient's domain explicitly accepts no mail (null MX)."),
    "5.2.0": _("The recipient's mailbox cannot receive mail."),
    "5.2.1": _("The recipient's mailbox is disabled."),
    "5.2.2": _("The mailbox is full: the recipient must make room before they can receive mail."),
    "5.2.3": _("The message is larger than the recipient's server accepts."),
    "5.3.4": _("The message is larger than the receiving server accepts."),
    "5.4.0": _("The message could not be routed to the recipient's server."),
    "5.4.4": _("The recipient's domain has no mail server that could be found (no MX or A record)."),
    "5.4.6": _("A mail loop was detected: the message kept coming back to the same server."),
    "5.4.7": _("The message was in the queue too long and was returned to the sender."),
    "5.5.0": _("The receiving server did not accept our SMTP command."),
    "5.6.0": _("The receiving server could not handle the message's content."),
    "5.7.0": _("Refused for security or policy reasons."),
    "5.7.1": _(
        "Refused by policy: the receiving server (or ours) does not allow this sender, recipient or content, "
        "for example relaying without permission or a sender address you may not use."
    ),
    "5.7.8": _("The login failed: wrong username or secret."),
    "5.7.23": _("The receiving server failed the SPF check of your domain: check your SPF record."),
    "5.7.25": _("The sending server has no reverse DNS (PTR) record the receiver accepts."),
    "5.7.26": _("The message failed authentication (DMARC, DKIM or SPF) at the receiving server."),
}

SUBJECTS = {
    "0": _("a general problem"),
    "1": _("the address"),
    "2": _("the recipient's mailbox"),
    "3": _("the receiving mail system"),
    "4": _("the network or routing"),
    "5": _("the mail protocol"),
    "6": _("the message content"),
    "7": _("security or policy"),
}


def explain(dsn: str, response: str = "") -> str:
    """A sentence a customer understands for a DSN code (and the remote answer, for greylisting)."""
    if dsn.startswith("4.") and "greylist" in response.lower():
        return str(
            _(
                "Greylisting: the receiving server asks unknown senders to try again a little later. This is "
                "normal; we retry automatically and the message usually arrives within the hour."
            )
        )
    if dsn in EXPLANATIONS:
        return str(EXPLANATIONS[dsn])
    klass, _sep, rest = dsn.partition(".")
    subject = SUBJECTS.get(rest.partition(".")[0])
    if klass == "2":
        return str(_("Delivered."))
    if klass == "4" and subject:
        return str(_("A temporary problem with %(subject)s; we will try again.") % {"subject": subject})
    if klass == "5" and subject:
        return str(
            _("A permanent failure concerning %(subject)s; the message was not delivered.")
            % {"subject": subject}
        )
    return ""


# Postfix retries a deferred message after its age, clipped to [minimal_backoff_time, maximal_backoff_time]
# (defaults 300 s and 4000 s), checked by the queue manager every queue_run_delay (300 s).
MINIMAL_BACKOFF = timedelta(seconds=300)
MAXIMAL_BACKOFF = timedelta(seconds=4000)


def next_retry(*, received_at: datetime, deferred_at: datetime) -> datetime:
    age = deferred_at - received_at
    return deferred_at + min(max(age, MINIMAL_BACKOFF), MAXIMAL_BACKOFF)
