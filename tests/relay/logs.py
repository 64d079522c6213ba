"""Real-shaped Postfix log lines for the relay tests (shapes as in shared/MAILSTACK-NOTES.md)."""

from datetime import timedelta

# An application sends through relay credential relay-7k2m9q to three recipients with mixed outcomes:
# one sent, one bounced (5.1.1), one greylisted (4.7.1) and sent five minutes later. The bounce
# notification (5B7C31C0DEF) goes back to the sender. An inbound message to an alias is interleaved.
MIXED = """\
Nov 30 20:15:12 mx1 postfix/submission/smtpd[2101]: connect from app.example[203.0.113.5]
Nov 30 20:15:12 mx1 postfix/submission/smtpd[2101]: 4F3A21C0ABC: client=app.example[203.0.113.5], sasl_method=PLAIN, sasl_username=relay-7k2m9q
Nov 30 20:15:12 mx1 postfix/cleanup[2105]: 4F3A21C0ABC: message-id=<order-1001@bakkerij.example>
Nov 30 20:15:12 mx1 postfix/smtpd[2200]: 6C8D41C0AAA: client=mail.sender.example[198.51.100.20]
Nov 30 20:15:12 mx1 postfix/qmgr[2000]: 4F3A21C0ABC: from=<shop@bakkerij.example>, size=2048, nrcpt=3 (queue active)
Nov 30 20:15:12 mx1 postfix/cleanup[2105]: 6C8D41C0AAA: message-id=<abc@sender.example>
Nov 30 20:15:12 mx1 postfix/qmgr[2000]: 6C8D41C0AAA: from=<klant@sender.example>, size=1500, nrcpt=1 (queue active)
Nov 30 20:15:13 mx1 postfix/smtp[2110]: 4F3A21C0ABC: to=<anna@klant.example>, relay=mx.klant.example[198.51.100.7]:25, delay=1.2, delays=0.1/0.01/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9ABCDEF)
Nov 30 20:15:13 mx1 postfix/lmtp[2201]: 6C8D41C0AAA: to=<jan@bakkerij.example>, orig_to=<info@bakkerij.example>, relay=127.0.0.1[127.0.0.1]:24, delay=0.1, delays=0.05/0/0.02/0.03, dsn=2.0.0, status=sent (250 2.0.0 <jan@bakkerij.example> x5Gk Saved)
Nov 30 20:15:13 mx1 postfix/smtp[2111]: 4F3A21C0ABC: to=<nobody@klant.example>, relay=mx.klant.example[198.51.100.7]:25, delay=1.3, delays=0.1/0.01/0.5/0.7, dsn=5.1.1, status=bounced (host mx.klant.example[198.51.100.7] said: 550 5.1.1 <nobody@klant.example>: Recipient address rejected: User unknown (in reply to RCPT TO command))
Nov 30 20:15:13 mx1 postfix/qmgr[2000]: 6C8D41C0AAA: removed
Nov 30 20:15:13 mx1 postfix/smtp[2112]: 4F3A21C0ABC: to=<piet@traag.example>, relay=mx.traag.example[192.0.2.9]:25, delay=1.5, delays=0.1/0.01/0.6/0.8, dsn=4.7.1, status=deferred (host mx.traag.example[192.0.2.9] said: 450 4.7.1 <piet@traag.example>: Recipient address rejected: Greylisted, try again in 300 seconds (in reply to RCPT TO command))
Nov 30 20:15:13 mx1 postfix/cleanup[2105]: 5B7C31C0DEF: message-id=<20261130201513.5B7C31C0DEF@mx1.postbode.localhost>
Nov 30 20:15:13 mx1 postfix/bounce[2115]: 4F3A21C0ABC: sender non-delivery notification: 5B7C31C0DEF
Nov 30 20:15:13 mx1 postfix/qmgr[2000]: 5B7C31C0DEF: from=<>, size=4096, nrcpt=1 (queue active)
Nov 30 20:15:13 mx1 postfix/lmtp[2201]: 5B7C31C0DEF: to=<shop@bakkerij.example>, relay=127.0.0.1[127.0.0.1]:24, delay=0.02, delays=0/0/0.01/0.01, dsn=2.0.0, status=sent (250 2.0.0 <shop@bakkerij.example> y6Hk Saved)
Nov 30 20:15:13 mx1 postfix/qmgr[2000]: 5B7C31C0DEF: removed
Nov 30 20:17:00 mx1 postfix/smtpd[2300]: NOQUEUE: reject: RCPT from unknown[203.0.113.66]: 554 5.7.1 <victim@elders.example>: Relay access denied; from=<spam@spam.example> to=<victim@elders.example> proto=ESMTP helo=<spammer>
Nov 30 20:17:01 mx1 postfix/submission/smtpd[2301]: NOQUEUE: reject: RCPT from app.example[203.0.113.5]: 553 5.7.1 <ceo@concurrent.example>: Sender address rejected: not owned by user relay-7k2m9q; from=<ceo@concurrent.example> to=<x@y.example> proto=ESMTP helo=<app>
Nov 30 20:20:14 mx1 postfix/smtp[2130]: 4F3A21C0ABC: to=<piet@traag.example>, relay=mx.traag.example[192.0.2.9]:25, delay=302, delays=300/0.01/0.6/0.8, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 77AB)
Nov 30 20:20:14 mx1 postfix/qmgr[2000]: 4F3A21C0ABC: removed
"""

# A message to a dead domain: deferred for five days, then expired and returned to the sender.
EXPIRED = """\
Nov 25 10:00:00 mx1 postfix/submission/smtpd[3101]: 7D9E51C0BBB: client=app.example[203.0.113.5], sasl_method=PLAIN, sasl_username=relay-7k2m9q
Nov 25 10:00:00 mx1 postfix/cleanup[3105]: 7D9E51C0BBB: message-id=<reset-77@bakkerij.example>
Nov 25 10:00:00 mx1 postfix/qmgr[2000]: 7D9E51C0BBB: from=<shop@bakkerij.example>, size=900, nrcpt=1 (queue active)
Nov 25 10:00:01 mx1 postfix/smtp[3110]: 7D9E51C0BBB: to=<kees@dood.example>, relay=none, delay=1, delays=0.1/0/0.9/0, dsn=4.4.1, status=deferred (connect to mx.dood.example[192.0.2.50]:25: Connection refused)
Nov 27 10:00:01 mx1 postfix/smtp[3111]: 7D9E51C0BBB: to=<kees@dood.example>, relay=none, delay=172801, delays=172800/0/1/0, dsn=4.4.1, status=deferred (connect to mx.dood.example[192.0.2.50]:25: Connection refused)
Nov 30 10:00:05 mx1 postfix/qmgr[2000]: 7D9E51C0BBB: from=<shop@bakkerij.example>, status=expired, returned to sender
Nov 30 10:00:05 mx1 postfix/cleanup[3105]: 8EAF61C0CCC: message-id=<20261130100005.8EAF61C0CCC@mx1.postbode.localhost>
Nov 30 10:00:05 mx1 postfix/bounce[3115]: 7D9E51C0BBB: sender non-delivery notification: 8EAF61C0CCC
Nov 30 10:00:05 mx1 postfix/qmgr[2000]: 7D9E51C0BBB: removed
"""

# RFC 3339 timestamps (rsyslog's file format) and long queue ids (enable_long_queue_ids = yes).
RFC3339_LONG_IDS = """\
2026-11-30T21:00:00.123456+01:00 mx2 postfix/submission/smtpd[4101]: 4dLh3V2XkLz1bQr: client=app.example[203.0.113.5], sasl_method=PLAIN, sasl_username=jan@bakkerij.example
2026-11-30T21:00:00.200000+01:00 mx2 postfix/cleanup[4105]: 4dLh3V2XkLz1bQr: message-id=<long-1@bakkerij.example>
2026-11-30T21:00:00.300000+01:00 mx2 postfix/qmgr[4000]: 4dLh3V2XkLz1bQr: from=<jan@bakkerij.example>, size=3000, nrcpt=1 (queue active)
2026-11-30T21:00:01.000000+01:00 mx2 postfix/smtp[4110]: 4dLh3V2XkLz1bQr: to=<vol@full.example>, relay=mx.full.example[192.0.2.80]:25, delay=0.7, delays=0.1/0/0.3/0.3, dsn=5.2.2, status=bounced (host mx.full.example[192.0.2.80] said: 552 5.2.2 <vol@full.example>: Mailbox full (in reply to RCPT TO command))
2026-11-30T21:00:01.100000+01:00 mx2 postfix/qmgr[4000]: 4dLh3V2XkLz1bQr: removed
"""

# The last days of December and the first of January, in syslog format (no year).
YEAR_END = """\
Dec 31 23:59:58 mx1 postfix/smtpd[5101]: 1A2B3C4D5E: client=mail.sender.example[198.51.100.20]
Dec 31 23:59:59 mx1 postfix/qmgr[5000]: 1A2B3C4D5E: from=<oud@sender.example>, size=100, nrcpt=1 (queue active)
Jan  1 00:00:01 mx1 postfix/lmtp[5201]: 1A2B3C4D5E: to=<jan@bakkerij.example>, relay=127.0.0.1[127.0.0.1]:24, delay=3, delays=2/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Saved)
Jan  1 00:00:01 mx1 postfix/qmgr[5000]: 1A2B3C4D5E: removed
"""

GARBAGE = [
    "Nov 30 20:15:1",
    "Nov 30 20:15:12 mx1 postfix/smtp[2110]: 4F3A21C0ABC: to=<anna@klant.exam",
    "Nov 30 20:15:12 mx1 postfix/qmgr[2000]: 4F3A21C0ABC: from=<x@y>, size=abc, nrcpt=(queue",
    "Feb 30 20:15:12 mx1 postfix/qmgr[2000]: 4F3A21C0ABC: removed",
    "2026-13-45T99:99:99Z mx1 postfix/qmgr[2000]: 4F3A21C0ABC: removed",
    "Nov 30 20:15:12 mx1 dovecot: imap-login: Login: user=<jan@bakkerij.example>",
    "Nov 30 20:15:12 mx1 postfix/anvil[2000]: statistics: max connection rate 1/60s",
    "",
    "\x00\x00\x00",
]
GARBAGE_BYTES = [
    b"\xff\xfe\x00\x81binary\x9c\xef",
    b"Nov 30 20:15:12 mx1 postfix/qmgr[2000]: \xff\xfe: removed\n",
]


def message_at(at, queue_id: str) -> list[str]:
    """A message sent through relay-7k2m9q at `at` (an aware datetime), greylisted once, then sent, and a
    refused attempt beside it: one message, one recipient, one event, one rejected attempt. RFC 3339
    timestamps, so the day is exactly the one given, whenever the test runs."""
    t0, t1, t2 = (f"{at + timedelta(seconds=s):%Y-%m-%dT%H:%M:%S.000000%z}" for s in (0, 1, 300))
    t0, t1, t2 = (f"{t[:-2]}:{t[-2:]}" for t in (t0, t1, t2))
    return [
        f"{t0} mx2 postfix/submission/smtpd[4101]: {queue_id}: client=app.example[203.0.113.5], sasl_method=PLAIN, sasl_username=relay-7k2m9q",
        f"{t0} mx2 postfix/cleanup[4105]: {queue_id}: message-id=<{queue_id}@bakkerij.example>",
        f"{t0} mx2 postfix/qmgr[4000]: {queue_id}: from=<shop@bakkerij.example>, size=3000, nrcpt=1 (queue active)",
        f"{t1} mx2 postfix/smtp[4110]: {queue_id}: to=<piet@traag.example>, relay=mx.traag.example[192.0.2.9]:25, delay=1, delays=0.1/0/0.5/0.4, dsn=4.7.1, status=deferred (host mx.traag.example[192.0.2.9] said: 450 4.7.1 Greylisted (in reply to RCPT TO command))",
        f"{t1} mx2 postfix/submission/smtpd[4102]: NOQUEUE: reject: RCPT from app.example[203.0.113.5]: 553 5.7.1 <ceo@concurrent.example>: Sender address rejected: not owned by user relay-7k2m9q; from=<ceo@concurrent.example> to=<x{queue_id}@y.example> proto=ESMTP helo=<app>",
        f"{t2} mx2 postfix/smtp[4111]: {queue_id}: to=<piet@traag.example>, relay=mx.traag.example[192.0.2.9]:25, delay=300, delays=299/0/0.5/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok)",
        f"{t2} mx2 postfix/qmgr[4000]: {queue_id}: removed",
    ]
