"""A varied Postfix log for the relay log benchmark, shaped as a real mail host's `mail.log` over a week.

Every line shape is one that Postfix 3.x (and Dovecot, OpenDKIM, amavis beside it) writes on a real host:
the shapes in shared/MAILSTACK-NOTES.md, the lines the integration tests' real Postfix writes, and Postfix's
own log formats (smtpd, postscreen, cleanup, qmgr, smtp, lmtp, bounce, pickup, anvil, scache). What makes it
harder than `LogGenerator`'s log, and closer to what a host sees:

- time: about a week, busier by day than by night; the log begins in the middle of things (messages
  deferred days before its first line go on being retried, expire and bounce in it);
- deferrals as Postfix schedules them: a message to an unreachable domain is retried with Postfix's backoff
  (300 s doubling to `maximal_backoff_time` 4000 s), each retry a qmgr `(queue active)` line and a
  `status=deferred` line, for five days (`maximal_queue_lifetime`), then `status=expired, returned to
  sender` and its non-delivery notification (about 2% of messages); shorter deferrals end sent;
- bounce notifications (postfix/bounce, a message of its own with a null sender) for about 8% of messages:
  remote 5.x.x refusals, expiries, and undeliverable forwards;
- authenticated submission (ports 587 and 465, `sasl_method`/`sasl_username`: mailboxes and relay
  credentials), messages to many recipients, with connection reuse (`conn_use=`);
- rejects at about 1.4% of all lines: `NOQUEUE: reject` at RCPT, MAIL, DATA, CONNECT with the reasons
  real hosts give (unknown user, RBL, greylisting, HELO, unknown sender domain, relay access, mailbox full,
  sender login mismatch), byte-identical ones within a second from clients that retry at once;
  postscreen's own rejects; milter rejects (rspamd) after DATA;
- the noise of a real log: connect/disconnect with command counts, TLS, lost connections and timeouts,
  SASL brute force, `warning:` lines, postscreen, dnsblog, anvil and scache statistics, Dovecot logins and
  LMTP deliveries, OpenDKIM signatures, amavis content filtering (a second queue id per message).

`VariedLog(seed).lines(count)` yields the lines in time order; `stats` counts what was generated.
"""

import heapq
import random
from collections import Counter
from datetime import datetime, timedelta

MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()
HOST = "mx1"
MYHOSTNAME = "mx1.postbode.example"
CUSTOMERS = 200  # klant0.example ... klant199.example, relay-bench0000 ..., as `bench_relaylog` seeds them

QUEUE_LIFETIME = 5 * 86400  # maximal_queue_lifetime
MIN_BACKOFF, MAX_BACKOFF = 300, 4000  # minimal_backoff_time, maximal_backoff_time
SPAN = 7 * 86400  # the log covers about a week
# Submitted messages to an unreachable domain: with the backlog, about 2% of all messages expire in the log.
DEAD_SHARE = 0.04

REMOTE_DOMAINS = [
    ("gmail.com", 30, "gmail-smtp-in.l.google.com", "142.250.102.{}"),
    ("outlook.com", 10, "outlook-com.olc.protection.outlook.com", "52.101.68.{}"),
    ("hotmail.com", 8, "hotmail-com.olc.protection.outlook.com", "52.101.73.{}"),
    ("ziggo.nl", 8, "mx.ziggo.nl", "84.116.6.{}"),
    ("kpnmail.nl", 7, "mx.kpnmail.nl", "195.121.65.{}"),
    ("yahoo.com", 4, "mta7.am0.yahoodns.net", "67.195.204.{}"),
    ("icloud.com", 4, "mx01.mail.icloud.com", "17.57.154.{}"),
    ("xs4all.nl", 3, "mx1.xs4all.nl", "194.109.24.{}"),
    ("planet.nl", 2, "mx.kpnmail.nl", "195.121.65.{}"),
    ("web.de", 2, "mx-ha03.web.de", "212.227.17.{}"),
    ("gmx.net", 2, "mx01.emig.gmx.net", "212.227.15.{}"),
    ("bedrijf-{}.nl", 20, "mail.bedrijf-{}.nl", "185.93.{}.{}"),
]
DOMAIN_NAMES = [d[0] for d in REMOTE_DOMAINS]
DOMAIN_WEIGHTS = [d[1] for d in REMOTE_DOMAINS]
FIRST_NAMES = (
    "jan piet anna sophie daan emma lucas julia sem mila noah tess finn sara levi eva bram lisa".split()
)
ROLES = "info sales support admin facturen boekhouding noreply nieuwsbrief team hr".split()
TLS_IN = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature RSA-PSS (2048 bits) server-digest SHA256"
TLS_IN_12 = "TLSv1.2 with cipher ECDHE-RSA-AES256-GCM-SHA384 (256/256 bits)"
TLS_OUT = "TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 server-signature ECDSA (P-256) server-digest SHA256"
RBLS = ["zen.spamhaus.org", "bl.spamcop.net", "b.barracudacentral.org"]
SPAM_HELOS = ["User", "ylmf-pc", "localhost", "WIN-{}", "[{}]", "mail.{}", "{}"]


def stamp(at: datetime) -> str:
    return f"{MONTHS[at.month - 1]} {at.day:2d} {at:%H:%M:%S}"


class VariedLog:
    """Yields log lines in time order. What happens later (a retry, an expiry) waits on a heap, as text or as
    a function that writes its lines when its time comes (so a week of retries is never held at once)."""

    def __init__(self, seed: int = 22, start: datetime | None = None, lines: int = 2_000_000):
        self.rng = random.Random(seed)
        self.start = start or datetime(2026, 11, 23, 0, 0, 0)
        self.pending: list = []
        self.serial = 0
        self.queue_serial = 0x3A000
        # New sessions per second on average, so that `lines` lines cover about a week (13.5 lines a session).
        self.rate = lines / SPAN / 13.5
        self.stats: Counter = Counter()
        self.pids = {}
        self.dead_domains = [f"oud-bedrijf{n}.nl" for n in range(40)]

    # -- plumbing ------------------------------------------------------------------------------------------

    def queue_id(self) -> str:
        """Postfix's short queue ids: five hex digits of microseconds, then the inode number."""
        self.queue_serial += self.rng.randint(1, 9)
        return f"{self.rng.randrange(0x100000):05X}{self.queue_serial:X}"

    def pid(self, service: str) -> int:
        """Postfix reuses a daemon process for many clients (max_use): a small pool per service."""
        pool = self.pids.setdefault(service, [self.rng.randint(1000, 99999) for _ in range(6)])
        if self.rng.random() < 0.01:
            pool[self.rng.randrange(len(pool))] = self.rng.randint(1000, 99999)
        return self.rng.choice(pool)

    def push(self, at: float, item) -> None:
        self.serial += 1
        heapq.heappush(self.pending, (at, self.serial, item))

    def lines(self, count: int):
        emitted = 0
        now = 0.0
        self.backlog()
        rng = self.rng
        while emitted < count:
            # Busier by day (peak at 14:00) than by night, five times over.
            hour = (now / 3600) % 24
            busy = 0.35 + 0.65 * max(0.0, 1 - abs(hour - 14) / 9)
            now += rng.expovariate(self.rate * busy / 0.68)
            self.session(now)
            while self.pending and self.pending[0][0] <= now:
                at, _serial, item = heapq.heappop(self.pending)
                if callable(item):
                    item(at)
                    continue
                if at < 0:
                    continue  # before the log begins
                yield f"{stamp(self.start + timedelta(seconds=at))} {HOST} {item}\n"
                emitted += 1
                if emitted >= count:
                    return

    def session(self, t: float) -> None:
        roll = self.rng.random()
        if roll < 0.30:
            self.submission(t)
        elif roll < 0.60:
            self.inbound(t)
        elif roll < 0.67:
            self.rejected_client(t)
        elif roll < 0.74:
            self.postscreen_drop(t)
        elif roll < 0.80:
            self.brute_force(t)
        elif roll < 0.82:
            self.pickup(t)
        else:
            self.noise(t)

    def backlog(self) -> None:
        """Messages already deferred when the log begins (received up to five days before its first line):
        only their later retries, the expiry and the notification are in the log."""
        expected = int(self.rate * 0.30 * DEAD_SHARE * QUEUE_LIFETIME)
        for _ in range(expected):
            received = -self.rng.uniform(0, QUEUE_LIFETIME)
            self.outbound_message(received, sasl=True, force_dead=True)

    # -- addresses -----------------------------------------------------------------------------------------

    def remote_address(self) -> tuple[str, str, str]:
        """A recipient outside, with its MX host and address."""
        rng = self.rng
        index = rng.choices(range(len(REMOTE_DOMAINS)), DOMAIN_WEIGHTS)[0]
        domain, _weight, mx, ip = REMOTE_DOMAINS[index]
        if "{}" in domain:
            n = rng.randint(1, 3000)
            domain, mx, ip = domain.format(n), mx.format(n), ip.format(n % 250, "{}")
        local = rng.choice(
            [
                f"{rng.choice(FIRST_NAMES)}.{rng.choice(FIRST_NAMES)}{rng.randint(1, 99)}",
                f"{rng.choice(FIRST_NAMES)}{rng.randint(1, 9999)}",
                rng.choice(ROLES),
            ]
        )
        return f"{local}@{domain}", mx, ip.format(rng.randint(2, 250))

    def local_mailbox(self, customer: int) -> str:
        return f"{self.rng.choice(FIRST_NAMES)}@klant{customer}.example"

    def client_ip(self) -> str:
        rng = self.rng
        return f"{rng.choice([31, 77, 80, 84, 89, 145, 178, 185, 188, 212, 213, 217])}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"

    # -- outbound ------------------------------------------------------------------------------------------

    def submission(self, t: float) -> None:
        self.outbound_message(t, sasl=True)

    def outbound_message(self, t: float, *, sasl: bool, force_dead: bool = False) -> None:
        """An authenticated client submits a message on 587 (or 465); it is signed, queued and sent out."""
        rng = self.rng
        customer = rng.randrange(CUSTOMERS)
        qid = self.queue_id()
        service = "submission/smtpd" if rng.random() < 0.85 else "smtps/smtpd"
        pid = self.pid(service)
        ip = self.client_ip()
        client = rng.choice(
            ["unknown", f"{ip.replace('.', '-')}.fixed.kpn.net", f"app{customer}.klant{customer}.example"]
        )
        if rng.random() < 0.55:
            user, method = self.local_mailbox(customer), rng.choice(["PLAIN", "LOGIN"])
            sender = user
        else:
            user, method = f"relay-bench{customer:04d}", "PLAIN"
            sender = f"{rng.choice(ROLES)}@klant{customer}.example"
        many = rng.random()
        count = 1 if many < 0.72 else rng.randint(2, 5) if many < 0.95 else rng.randint(6, 40)
        recipients = [self.remote_address() for _ in range(count)]
        if rng.random() < 0.15:  # a colleague in cc: delivered here
            recipients.append((self.local_mailbox(customer), None, None))
        self.push(t, f"postfix/{service}[{pid}]: connect from {client}[{ip}]")
        if service == "submission/smtpd":
            self.push(
                t,
                f"postfix/{service}[{pid}]: Anonymous TLS connection established from {client}[{ip}]: {rng.choice([TLS_IN, TLS_IN, TLS_IN_12])}",
            )
        else:
            self.push(
                t,
                f"postfix/{service}[{pid}]: Anonymous TLS connection established from {client}[{ip}]: {TLS_IN}",
            )
        t1 = t + rng.uniform(0.05, 0.4)
        self.push(
            t1,
            f"postfix/{service}[{pid}]: {qid}: client={client}[{ip}], sasl_method={method}, sasl_username={user}",
        )
        msgid = f"{rng.randint(10**9, 10**10)}.{rng.randint(1000, 9999)}@klant{customer}.example"
        self.push(t1 + 0.01, f"postfix/cleanup[{self.pid('cleanup')}]: {qid}: message-id=<{msgid}>")
        self.push(
            t1 + 0.02,
            f"opendkim[{self.pid('opendkim')}]: {qid}: DKIM-Signature field added (s=pb{customer % 7}, d=klant{customer}.example)",
        )
        size = int(rng.lognormvariate(9.5, 1.2)) + 600
        self.push(
            t1 + 0.03,
            f"postfix/qmgr[1187]: {qid}: from=<{sender}>, size={size}, nrcpt={len(recipients)} (queue active)",
        )
        commands = f"ehlo=2 starttls=1 auth=1 mail=1 rcpt={len(recipients)} data=1 quit=1 commands={7 + len(recipients)}"
        if service == "smtps/smtpd":
            commands = (
                f"ehlo=1 auth=1 mail=1 rcpt={len(recipients)} data=1 quit=1 commands={5 + len(recipients)}"
            )
        self.push(t1 + 0.05, f"postfix/{service}[{pid}]: disconnect from {client}[{ip}] {commands}")
        self.stats["messages"] += 1
        self.stats["submission messages"] += 1
        self.deliver_all(t1 + 0.03, qid, sender, size, recipients, force_dead=force_dead)

    def deliver_all(
        self, t: float, qid: str, sender: str, size: int, recipients, *, force_dead=False
    ) -> None:
        """Each recipient's fate; recipients of one domain go over one connection (conn_use=)."""
        rng = self.rng
        state = {"open": len(recipients), "bounced": [], "last": t}

        def done(at: float, bounced: str | None = None) -> None:
            state["open"] -= 1
            state["last"] = max(state["last"], at)
            if bounced:
                state["bounced"].append(bounced)
            if state["open"] == 0:
                end = state["last"]
                if state["bounced"]:
                    self.notification(end + 0.01, qid, sender, state["bounced"])
                self.push(end + 0.02, f"postfix/qmgr[1187]: {qid}: removed")

        dead = force_dead or rng.random() < DEAD_SHARE
        fate_roll = rng.random()
        for n, (address, mx, ip) in enumerate(recipients):
            at = t + rng.uniform(0.2, 1.5) + n * 0.02
            if mx is None:
                self.lmtp(at, qid, address, "")
                done(at)
            elif dead and n == 0:
                self.dead_destination(at, t, qid, sender, size, address, len(recipients), done)
            else:
                self.remote(at, t, qid, (sender, size, len(recipients)), address, mx, ip, n, done, fate_roll)

    def remote(self, at, t, qid, message, address, mx, ip, n, done, fate_roll) -> None:
        rng = self.rng
        relay = f"{mx}[{ip}]:25"
        reuse = f", conn_use={n + 1}" if n else ""
        delays = f"{rng.uniform(0.01, 0.5):.2f}/{rng.uniform(0, 0.05):.2f}/{rng.uniform(0.05, 0.6):.2f}/{rng.uniform(0.1, 1.5):.2f}"
        smtp = f"postfix/smtp[{self.pid('smtp')}]"
        if not n:
            trust = (
                "Verified"
                if "google" in mx or "outlook" in mx
                else rng.choice(["Trusted", "Untrusted", "Verified"])
            )
            self.push(at - 0.1, f"{smtp}: {trust} TLS connection established to {mx}[{ip}]:25: {TLS_OUT}")
        roll = rng.random()
        if roll < 0.035:  # greylisted or rate-limited, sent on a later retry
            reply = rng.choice(
                [
                    f"450 4.7.1 <{address}>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/help/{address.split('@')[1]}.html",
                    f"421-4.7.0 [{MYHOSTNAME} 203.0.113.25] Our system has detected an unusual rate of 421-4.7.0 unsolicited mail originating from your IP address.",
                    "451 4.7.500 Server busy. Please try again later from [203.0.113.25]. (S77719) [AM0PR02MB1234.eurprd02.prod.outlook.com]",
                ]
            )
            self.push(
                at,
                f"{smtp}: {qid}: to=<{address}>, relay={relay}{reuse}, delay={at - t:.1f}, delays={delays}, dsn=4.7.1, status=deferred (host {mx}[{ip}] said: {reply} (in reply to RCPT TO command))",
            )
            retry = at + rng.choice([300, 600, 1200]) + rng.uniform(0, 300)
            sender, size, nrcpt = message
            self.push(
                retry,
                f"postfix/qmgr[1187]: {qid}: from=<{sender}>, size={size}, nrcpt={nrcpt} (queue active)",
            )
            self.push(
                retry + 0.5,
                f"{smtp}: {qid}: to=<{address}>, relay={relay}, delay={retry + 0.5 - t:.0f}, delays={retry - t:.0f}/0.01/0.3/0.4, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {self.queue_id()})",
            )
            done(retry + 0.5)
        elif roll < 0.035 + 0.045 * (1 if fate_roll < 0.9 else 3):  # refused: bounced back to the sender
            dsn, reply = rng.choice(
                [
                    (
                        "5.1.1",
                        f"550 5.1.1 <{address}>: Recipient address rejected: User unknown in virtual mailbox table",
                    ),
                    (
                        "5.1.1",
                        f"550-5.1.1 The email account that you tried to reach does not exist. Please try 550-5.1.1 double-checking the recipient's email address for typos or 550-5.1.1 unnecessary spaces. For more information, go to 550 5.1.1  https://support.google.com/mail/?p=NoSuchUser a640c23a62f3a-aa4e{rng.randint(100, 999)}si{rng.randint(1000, 9999)} - gsmtp",
                    ),
                    (
                        "5.5.0",
                        "550 5.5.0 Requested action not taken: mailbox unavailable. [AM4PEPF00027A5F.eurprd04.prod.outlook.com 2026-11-29T18:00:00.000Z 08DD1234ABCD]",
                    ),
                    ("5.2.2", f"552 5.2.2 <{address}>: Recipient address rejected: Mailbox is full"),
                    (
                        "5.7.1",
                        "554 5.7.1 Service unavailable; Client host [203.0.113.25] blocked using Spamhaus",
                    ),
                    (
                        "5.7.26",
                        "550-5.7.26 Unauthenticated email from klant.example is not accepted due to domain's 550-5.7.26 DMARC policy. Please contact the administrator of klant.example domain 550 5.7.26 if this was a legitimate message. - gsmtp",
                    ),
                ]
            )
            self.push(
                at,
                f"{smtp}: {qid}: to=<{address}>, relay={relay}{reuse}, delay={at - t:.1f}, delays={delays}, dsn={dsn}, status=bounced (host {mx}[{ip}] said: {reply} (in reply to RCPT TO command))",
            )
            done(at, address)
        elif roll < 0.19 and "bedrijf" in mx:  # the domain does not exist
            self.push(
                at,
                f"{smtp}: {qid}: to=<{address}>, relay=none, delay={at - t:.2f}, delays={delays}, dsn=5.4.4, status=bounced (Host or domain name not found. Name service error for name={address.split('@')[1]} type=MX: Host not found)",
            )
            done(at, address)
        else:
            response = rng.choice(
                [
                    f"250 2.0.0 OK  {int(1.7e9) + rng.randint(0, 10**7)} a640c23a62f3a-aa{rng.randint(1000, 9999)}si{rng.randint(1000, 9999)}.{rng.randint(100, 999)} - gsmtp",
                    f"250 2.6.0 <{rng.randint(10**9, 10**10)}@klant.example> [InternalId={rng.randint(10**12, 10**13)}, Hostname=AM9PR02MB{rng.randint(1000, 9999)}.eurprd02.prod.outlook.com] {rng.randint(1000, 99999)} bytes in 0.{rng.randint(100, 999)}, 55.{rng.randint(100, 999)} KB/sec Queued mail for delivery",
                    f"250 2.0.0 Ok: queued as {self.queue_id()}",
                    f"250 2.0.0 Ok: queued as 4Y{rng.randint(10**8, 10**9)}z{rng.randint(10**5, 10**6)}",
                    f"250 Requested mail action okay, completed: id=1M{rng.randint(10**6, 10**7)}-1t{rng.randint(10**5, 10**6)}",
                ]
            )
            self.push(
                at,
                f"{smtp}: {qid}: to=<{address}>, relay={relay}{reuse}, delay={at - t:.2f}, delays={delays}, dsn=2.0.0, status=sent ({response})",
            )
            done(at)

    def dead_destination(self, at, t, qid, sender, size, address, nrcpt, done) -> None:
        """An unreachable domain: retried with Postfix's backoff for five days, then expired (2% of mail)."""
        rng = self.rng
        domain = rng.choice(self.dead_domains)
        address = f"{address.split('@')[0]}@{domain}"
        ip = f"192.0.2.{self.dead_domains.index(domain) + 10}"
        reason = rng.choice(
            [
                f"connect to mx.{domain}[{ip}]:25: Connection timed out",
                f"connect to mx.{domain}[{ip}]:25: Connection refused",
                f"Host or domain name not found. Name service error for name={domain} type=MX: Host not found, try again",
                f"host mx.{domain}[{ip}] said: 451 4.3.0 Temporary system failure. Please try again later. (in reply to MAIL FROM command)",
            ]
        )
        dsn = "4.4.1" if "connect" in reason else "4.4.3" if "Host or domain" in reason else "4.3.0"
        relay = f"mx.{domain}[{ip}]:25" if "said" in reason else "none"
        self.stats["expired messages"] += 1

        def attempt(when: float, backoff: float) -> None:
            if when - t >= QUEUE_LIFETIME:
                self.push(
                    when, f"postfix/qmgr[1187]: {qid}: from=<{sender}>, status=expired, returned to sender"
                )
                done(when, address)
                return
            if when > t + 1:
                self.push(
                    when,
                    f"postfix/qmgr[1187]: {qid}: from=<{sender}>, size={size}, nrcpt={nrcpt} (queue active)",
                )
            if "connect to" in reason:
                self.push(when + 30, f"postfix/smtp[{self.pid('smtp')}]: {reason}")
            who = "smtp" if rng.random() < 0.8 or when < t + 1 else "qmgr"
            text = reason if who == "smtp" else f"delivery temporarily suspended: {reason}"
            end = when + (30 if "connect" in reason and who == "smtp" else 0.2)
            self.push(
                end,
                f"postfix/{who}[{1187 if who == 'qmgr' else self.pid('smtp')}]: {qid}: to=<{address}>, relay={relay}, delay={end - t:.0f}, delays={end - t - 30:.0f}/0.01/30/0, dsn={dsn}, status=deferred ({text})",
            )
            backoff = min(MAX_BACKOFF, backoff * 2)
            self.push(when + backoff + rng.uniform(0, 300), lambda at: attempt(at, backoff))

        self.push(at, lambda when: attempt(when, MIN_BACKOFF / 2))

    def notification(self, at: float, qid: str, sender: str, bounced: list[str]) -> None:
        """postfix/bounce writes a non-delivery notification: a new message, null sender, back to the sender."""
        rng = self.rng
        notice = self.queue_id()
        self.stats["bounce notifications"] += 1
        self.push(
            at,
            f"postfix/cleanup[{self.pid('cleanup')}]: {notice}: message-id=<{self.start:%Y%m%d}{rng.randint(100000, 999999)}.{notice}@{MYHOSTNAME}>",
        )
        self.push(
            at + 0.01,
            f"postfix/bounce[{self.pid('bounce')}]: {qid}: sender non-delivery notification: {notice}",
        )
        self.push(
            at + 0.02,
            f"postfix/qmgr[1187]: {notice}: from=<>, size={3000 + 700 * len(bounced) + rng.randint(0, 4000)}, nrcpt=1 (queue active)",
        )
        if sender.split("@")[1].startswith("klant"):
            self.push(
                at + 0.08,
                f"postfix/lmtp[{self.pid('lmtp')}]: {notice}: to=<{sender}>, relay={MYHOSTNAME}[private/dovecot-lmtp], delay=0.07, delays=0.01/0.01/0.01/0.04, dsn=2.0.0, status=sent (250 2.0.0 <{sender}> {self.token()} Saved)",
            )
        elif rng.random() < 0.3:  # backscatter to a forged sender: refused
            self.push(
                at + 0.9,
                f"postfix/smtp[{self.pid('smtp')}]: {notice}: to=<{sender}>, relay=mx.{sender.split('@')[1]}[198.51.100.{rng.randint(1, 250)}]:25, delay=0.9, delays=0.02/0.01/0.4/0.4, dsn=5.1.1, status=bounced (host mx.{sender.split('@')[1]}[198.51.100.9] said: 550 5.1.1 <{sender}>: Recipient address rejected: User unknown (in reply to RCPT TO command))",
            )
            self.push(
                at + 0.91,
                f"postfix/bounce[{self.pid('bounce')}]: {notice}: postmaster non-delivery notification: {self.queue_id()}",
            )
        else:
            self.push(
                at + 0.9,
                f"postfix/smtp[{self.pid('smtp')}]: {notice}: to=<{sender}>, relay=mx.{sender.split('@')[1]}[198.51.100.{rng.randint(1, 250)}]:25, delay=0.9, delays=0.02/0.01/0.4/0.4, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {self.queue_id()})",
            )
        self.push(at + 1.0, f"postfix/qmgr[1187]: {notice}: removed")

    # -- inbound -------------------------------------------------------------------------------------------

    def postscreen_pass(self, t: float, ip: str) -> None:
        rng = self.rng
        port = rng.randint(1024, 65535)
        self.push(
            t,
            f"postfix/postscreen[{self.pid('postscreen')}]: CONNECT from [{ip}]:{port} to [203.0.113.25]:25",
        )
        if rng.random() < 0.7:
            self.push(t, f"postfix/postscreen[{self.pid('postscreen')}]: PASS OLD [{ip}]:{port}")
        else:
            self.push(t + 6, f"postfix/postscreen[{self.pid('postscreen')}]: PASS NEW [{ip}]:{port}")

    def inbound(self, t: float) -> None:
        """Mail from outside for hosted mailboxes (aliases, several recipients), through postscreen, the
        rspamd milter (which refuses some), and sometimes amavis; delivered by LMTP to Dovecot."""
        rng = self.rng
        customer = rng.randrange(CUSTOMERS)
        ip = self.client_ip()
        sender_domain = rng.choice(
            [
                "mailchimpapp.net",
                "bol.com",
                "belastingdienst.nl",
                "sendgrid.net",
                "gmail.com",
                "outlook.com",
                "ziggo.nl",
                f"leverancier{rng.randint(1, 400)}.nl",
            ]
        )
        client = f"mail-{rng.randint(1, 999)}.{sender_domain}"
        sender = f"{rng.choice(ROLES + FIRST_NAMES)}@{sender_domain}"
        if rng.random() < 0.2:
            sender = f"bounce-{rng.randint(10**6, 10**7)}-{rng.randint(1, 999)}@{sender_domain}"
        self.postscreen_pass(t, ip)
        t += 0.5
        pid = self.pid("smtpd")
        self.push(t, f"postfix/smtpd[{pid}]: connect from {client}[{ip}]")
        tls = rng.random() < 0.85
        if tls:
            self.push(
                t + 0.05,
                f"postfix/smtpd[{pid}]: Anonymous TLS connection established from {client}[{ip}]: {rng.choice([TLS_IN, TLS_IN_12])}",
            )
        qid = self.queue_id()
        count = 1 if rng.random() < 0.85 else rng.randint(2, 4)
        recipients = []
        for _ in range(count):
            if rng.random() < 0.3:  # an alias: one or more mailboxes
                alias = f"{rng.choice(ROLES)}@klant{customer}.example"
                recipients += [(self.local_mailbox(customer), alias) for _ in range(rng.randint(1, 3))]
            else:
                recipients.append((self.local_mailbox(customer), ""))
        forward = rng.random() < 0.04  # a forward to a mailbox elsewhere
        if forward:
            recipients.append(
                (self.remote_address()[0], f"{rng.choice(FIRST_NAMES)}@klant{customer}.example")
            )
        recipients = list(dict.fromkeys(recipients))
        t1 = t + rng.uniform(0.2, 1.5)
        self.push(t1, f"postfix/smtpd[{pid}]: {qid}: client={client}[{ip}]")
        self.push(
            t1 + 0.01,
            f"postfix/cleanup[{self.pid('cleanup')}]: {qid}: message-id=<{rng.randint(10**11, 10**12)}.{rng.randint(10**5, 10**6)}@{sender_domain}>",
        )
        verdict = rng.random()
        rcpts = len({r for r, _o in recipients})
        commands = (
            f"ehlo=2 starttls=1 mail=1 rcpt={rcpts} data=1 quit=1 commands={6 + rcpts}"
            if tls
            else f"ehlo=1 mail=1 rcpt={rcpts} data=1 quit=1 commands={4 + rcpts}"
        )
        if verdict < 0.05:  # the spam filter refuses it after DATA: no message is queued
            first = recipients[0][1] or recipients[0][0]
            reply = rng.choice(
                ["5.7.1 Spam message rejected", "5.7.1 Gtube pattern", "4.7.1 Try again later"]
            )
            self.push(
                t1 + 0.3,
                f"postfix/cleanup[{self.pid('cleanup')}]: {qid}: milter-reject: END-OF-MESSAGE from {client}[{ip}]: {reply}; from=<{sender}> to=<{first}> proto=ESMTP helo=<{client}>",
            )
            self.push(
                t1 + 0.31,
                f"postfix/smtpd[{pid}]: disconnect from {client}[{ip}] {commands.replace('data=1', 'data=0/1')}",
            )
            self.stats["messages"] += 1
            return
        self.stats["messages"] += 1
        size = int(rng.lognormvariate(10, 1.1)) + 1500
        self.push(t1 + 0.3, f"opendkim[{self.pid('opendkim')}]: {qid}: {client} [{ip}] not internal")
        self.push(t1 + 0.31, f"opendkim[{self.pid('opendkim')}]: {qid}: DKIM verification successful")
        self.push(
            t1 + 0.32,
            f"postfix/qmgr[1187]: {qid}: from=<{sender}>, size={size}, nrcpt={len(recipients)} (queue active)",
        )
        self.push(t1 + 0.33, f"postfix/smtpd[{pid}]: disconnect from {client}[{ip}] {commands}")
        if rng.random() < 0.2:  # amavis as content filter: out to 10024, back in on 10025 with a new queue id
            self.amavis(t1 + 0.33, qid, sender, size, recipients, ip)
            return
        self.deliver_local(t1 + 0.33, qid, sender, recipients)

    def deliver_local(self, t: float, qid: str, sender: str, recipients) -> None:
        rng = self.rng
        bounced = []
        at = t
        for address, orig_to in recipients:
            at += rng.uniform(0.02, 0.2)
            if address.endswith(".example"):
                full = rng.random() < 0.004
                self.lmtp(at, qid, address, orig_to, full=full)
                if full:
                    bounced.append(address)
            else:  # forwarded
                _a, mx, ip = self.remote_address()
                if rng.random() < 0.25:
                    self.push(
                        at + 0.8,
                        f"postfix/smtp[{self.pid('smtp')}]: {qid}: to=<{address}>, orig_to=<{orig_to}>, relay={mx}[{ip}]:25, delay=1.2, delays=0.3/0.01/0.4/0.5, dsn=5.7.1, status=bounced (host {mx}[{ip}] said: 550 5.7.1 Message rejected as spam by Content Filtering. (in reply to end of DATA command))",
                    )
                    bounced.append(address)
                else:
                    self.push(
                        at + 0.8,
                        f"postfix/smtp[{self.pid('smtp')}]: {qid}: to=<{address}>, orig_to=<{orig_to}>, relay={mx}[{ip}]:25, delay=1.2, delays=0.3/0.01/0.4/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {self.queue_id()})",
                    )
                at += 0.8
        if bounced:
            self.notification(at + 0.01, qid, sender, bounced)
        self.push(at + 0.02, f"postfix/qmgr[1187]: {qid}: removed")

    def amavis(self, t: float, qid: str, sender: str, size: int, recipients, ip: str) -> None:
        rng = self.rng
        second = self.queue_id()
        at = t + rng.uniform(0.5, 3)
        for n, (address, orig_to) in enumerate(recipients):
            orig = f", orig_to=<{orig_to}>" if orig_to else ""
            self.push(
                at,
                f"postfix/smtp[{self.pid('smtp')}]: {qid}: to=<{address}>{orig}, relay=127.0.0.1[127.0.0.1]:10024{f', conn_use={n + 1}' if n else ''}, delay={at - t + 0.4:.1f}, delays=0.4/0.01/0.01/{at - t:.1f}, dsn=2.0.0, status=sent (250 2.0.0 from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as {second})",
            )
        pid = self.pid("10025/smtpd")
        self.push(at - 0.1, f"postfix/10025/smtpd[{pid}]: connect from localhost[127.0.0.1]")
        self.push(at - 0.09, f"postfix/10025/smtpd[{pid}]: {second}: client=localhost[127.0.0.1]")
        self.push(
            at - 0.08,
            f"postfix/cleanup[{self.pid('cleanup')}]: {second}: message-id=<{rng.randint(10**11, 10**12)}@amavis>",
        )
        self.push(
            at - 0.07,
            f"postfix/qmgr[1187]: {second}: from=<{sender}>, size={size + 900}, nrcpt={len(recipients)} (queue active)",
        )
        self.push(
            at - 0.05,
            f"amavis[{self.pid('amavis')}]: ({rng.randint(10000, 99999)}-{rng.randint(1, 20):02d}) Passed CLEAN {{RelayedInbound}}, [{ip}]:{rng.randint(1024, 65535)} [{ip}] <{sender}> -> <{recipients[0][0]}>, Queue-ID: {qid}, Message-ID: <{rng.randint(10**9, 10**10)}@x>, mail_id: {rng.randint(10**9, 10**10):x}, Hits: {rng.uniform(-3, 4):.3f}, size: {size}, queued_as: {second}, {rng.randint(300, 3000)} ms",
        )
        self.push(
            at - 0.04,
            f"postfix/10025/smtpd[{pid}]: disconnect from localhost[127.0.0.1] ehlo=1 mail=1 rcpt={len(recipients)} data=1 quit=1 commands={4 + len(recipients)}",
        )
        self.push(at + 0.01, f"postfix/qmgr[1187]: {qid}: removed")
        self.stats["messages"] += 1
        self.deliver_local(at, second, sender, recipients)

    def lmtp(self, at: float, qid: str, address: str, orig_to: str, *, full: bool = False) -> None:
        orig = f", orig_to=<{orig_to}>" if orig_to else ""
        delays = f"0.{self.rng.randint(1, 9)}/0.01/0.01/0.0{self.rng.randint(1, 9)}"
        if full:
            self.push(
                at,
                f"postfix/lmtp[{self.pid('lmtp')}]: {qid}: to=<{address}>{orig}, relay={MYHOSTNAME}[private/dovecot-lmtp], delay=0.2, delays={delays}, dsn=5.2.2, status=bounced (host {MYHOSTNAME}[private/dovecot-lmtp] said: 552 5.2.2 <{address}> Quota exceeded (mailbox for user is full) (in reply to end of DATA command))",
            )
            return
        self.push(
            at - 0.01,
            f"dovecot: lmtp({address})<{self.rng.randint(1000, 99999)}><{self.token()}>: msgid=<{self.rng.randint(10**9, 10**10)}@x>: saved mail to INBOX",
        )
        self.push(
            at,
            f"postfix/lmtp[{self.pid('lmtp')}]: {qid}: to=<{address}>{orig}, relay={MYHOSTNAME}[private/dovecot-lmtp], delay=0.{self.rng.randint(1, 9)}, delays={delays}, dsn=2.0.0, status=sent (250 2.0.0 <{address}> {self.token()} Saved)",
        )

    def token(self) -> str:
        return "".join(
            self.rng.choices("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", k=22)
        )

    # -- refused, dropped, attacked ------------------------------------------------------------------------

    def rejected_client(self, t: float) -> None:
        """A client refused at RCPT (or MAIL, DATA): one to several reject lines, some identical in a second."""
        rng = self.rng
        ip = self.client_ip()
        customer = rng.randrange(CUSTOMERS)
        submission = rng.random() < 0.1
        service = "submission/smtpd" if submission else "smtpd"
        if not submission:
            self.postscreen_pass(t, ip)
            t += 0.5
        pid = self.pid(service)
        client = rng.choice(
            [
                "unknown",
                f"host-{ip.replace('.', '-')}.dynamic.example",
                f"mail.leverancier{rng.randint(1, 400)}.nl",
            ]
        )
        helo = rng.choice(SPAM_HELOS).format(rng.choice([ip, client, "example"]))
        sender = rng.choice(
            [
                f"{rng.choice(FIRST_NAMES)}@{client.split('.', 1)[-1] if '.' in client else 'hotmail.com'}",
                "",
                f"info@klant{customer}.example",
                f"spam{rng.randint(1, 10**6)}@qq.com",
            ]
        )
        target = rng.choice(
            [
                f"{rng.choice(FIRST_NAMES)}{rng.randint(1, 99)}@klant{customer}.example",
                f"{rng.choice(ROLES)}@klant{customer}.example",
                f"user@elders{rng.randint(1, 99)}.example",
            ]
        )
        if submission:
            user = f"relay-bench{customer:04d}" if rng.random() < 0.5 else self.local_mailbox(customer)
            reasons = [
                (
                    f"553 5.7.1 <{sender or 'x@y.example'}>: Sender address rejected: not owned by user {user}",
                    "RCPT",
                )
            ]
        else:
            reasons = [
                (
                    f"550 5.1.1 <{target}>: Recipient address rejected: User unknown in virtual mailbox table",
                    "RCPT",
                ),
                (
                    f"554 5.7.1 Service unavailable; Client host [{ip}] blocked using {rng.choice(RBLS)}; https://www.spamhaus.org/query/ip/{ip}",
                    "RCPT",
                ),
                (
                    f"450 4.7.1 <{target}>: Recipient address rejected: Greylisted, see https://postgrey.schweikert.ch/help/klant{customer}.example.html",
                    "RCPT",
                ),
                (f"450 4.7.1 Client host rejected: cannot find your reverse hostname, [{ip}]", "RCPT"),
                (f"504 5.5.2 <{helo}>: Helo command rejected: need fully-qualified hostname", "RCPT"),
                (
                    f"450 4.1.8 <{sender or 'x@nx.example'}>: Sender address rejected: Domain not found",
                    "RCPT",
                ),
                (f"554 5.7.1 <{target}>: Relay access denied", "RCPT"),
                (f"552 5.2.2 <{target}>: Recipient address rejected: Mailbox is full", "RCPT"),
                ("452 4.3.1 Insufficient system storage", "MAIL"),
                ("552 5.3.4 Message size exceeds fixed limit", "MAIL"),
                ("554 5.5.1 Error: no valid recipients", "DATA"),
            ]
        reply, stage = rng.choices(
            reasons, [1] * len(reasons) if submission else [30, 15, 15, 8, 6, 6, 10, 3, 1, 2, 4]
        )[0]
        self.push(t, f"postfix/{service}[{pid}]: connect from {client}[{ip}]")
        repeats = 1 if rng.random() < 0.7 else rng.randint(2, 6)
        at = t + rng.uniform(0.1, 1.0)
        for _ in range(repeats):
            if stage == "MAIL":
                line = f"NOQUEUE: reject: MAIL from {client}[{ip}]: {reply}; proto=ESMTP helo=<{helo}>"
            elif stage == "DATA":
                line = f"NOQUEUE: reject: DATA from {client}[{ip}]: {reply}; from=<{sender}> proto=ESMTP helo=<{helo}>"
            else:
                line = f"NOQUEUE: reject: RCPT from {client}[{ip}]: {reply}; from=<{sender}> to=<{target}> proto=ESMTP helo=<{helo}>"
            self.push(at, f"postfix/{service}[{pid}]: {line}")
            self.stats["reject lines"] += 1
            if rng.random() < 0.5:
                at += rng.choice([0, 0, 0.3, 1.2])  # a client retrying at once: identical lines in a second
        ending = rng.random()
        if ending < 0.6:
            self.push(
                at + 0.2,
                f"postfix/{service}[{pid}]: disconnect from {client}[{ip}] ehlo=1 mail=1 rcpt=0/{repeats} quit=1 commands=3/{3 + repeats}",
            )
        elif ending < 0.8:
            self.push(at + 0.2, f"postfix/{service}[{pid}]: lost connection after RCPT from {client}[{ip}]")
            self.push(
                at + 0.2,
                f"postfix/{service}[{pid}]: disconnect from {client}[{ip}] ehlo=1 mail=1 rcpt=0/{repeats} commands=2/{2 + repeats}",
            )
        else:
            self.push(at + 300, f"postfix/{service}[{pid}]: timeout after RCPT from {client}[{ip}]")
            self.push(
                at + 300,
                f"postfix/{service}[{pid}]: disconnect from {client}[{ip}] ehlo=1 mail=1 rcpt=0/{repeats} commands=2/{2 + repeats}",
            )

    def postscreen_drop(self, t: float) -> None:
        """Botnet clients dropped by postscreen: DNSBL scores, pregreeting, and its own rejects."""
        rng = self.rng
        ip = self.client_ip()
        port = rng.randint(1024, 65535)
        ps = f"postfix/postscreen[{self.pid('postscreen')}]"
        self.push(t, f"{ps}: CONNECT from [{ip}]:{port} to [203.0.113.25]:25")
        roll = rng.random()
        if roll < 0.5:
            for rbl in rng.sample(RBLS, rng.randint(1, 3)):
                self.push(
                    t + 0.1,
                    f"postfix/dnsblog[{self.pid('dnsblog')}]: addr {ip} listed by domain {rbl} as 127.0.0.{rng.choice([2, 3, 4, 11])}",
                )
            self.push(t + 0.2, f"{ps}: DNSBL rank {rng.randint(3, 9)} for [{ip}]:{port}")
            self.push(
                t + 0.3,
                f"{ps}: NOQUEUE: reject: RCPT from [{ip}]:{port}: 550 5.7.1 Service unavailable; client [{ip}] blocked using {rng.choice(RBLS)}; from=<{rng.choice(FIRST_NAMES)}@{ip.replace('.', '')}.example>, to=<{rng.choice(ROLES)}@klant{rng.randrange(CUSTOMERS)}.example>, proto=ESMTP, helo=<{rng.choice(['User', 'localhost', ip])}>",
            )
            self.stats["reject lines"] += 1
            self.push(t + 0.4, f"{ps}: DISCONNECT [{ip}]:{port}")
        elif roll < 0.75:
            self.push(
                t + 0.3,
                f"{ps}: PREGREET 11 after 0.{rng.randint(10, 99)} from [{ip}]:{port}: EHLO User\\r\\n",
            )
            self.push(t + 0.4, f"{ps}: DISCONNECT [{ip}]:{port}")
        elif roll < 0.9:
            self.push(
                t + 3,
                f"{ps}: HANGUP after {rng.uniform(0.1, 9):.1f} from [{ip}]:{port} in tests after SMTP handshake",
            )
            self.push(t + 3, f"{ps}: DISCONNECT [{ip}]:{port}")
        else:
            self.push(t + 1, f"{ps}: COMMAND PIPELINING from [{ip}]:{port} after EHLO: QUIT\\r\\n")
            self.push(t + 1, f"{ps}: DISCONNECT [{ip}]:{port}")

    def brute_force(self, t: float) -> None:
        """Password guessing on the submission ports: SASL failures, lost connections."""
        rng = self.rng
        ip = self.client_ip()
        service = rng.choice(["submission/smtpd", "smtps/smtpd", "smtpd"])
        pid = self.pid(service)
        self.push(t, f"postfix/{service}[{pid}]: connect from unknown[{ip}]")
        tries = rng.randint(1, 3)
        for n in range(tries):
            method = rng.choice(["LOGIN", "PLAIN"])
            blob = "UGFzc3dvcmQ6" if method == "LOGIN" else "authentication failure"
            self.push(
                t + 2 + n,
                f"postfix/{service}[{pid}]: warning: unknown[{ip}]: SASL {method} authentication failed: {blob}",
            )
            if rng.random() < 0.3:
                self.push(
                    t + 2 + n,
                    f"dovecot: auth: passwd-file(info@klant{rng.randrange(CUSTOMERS)}.example,{ip}): unknown user",
                )
        end = rng.choice(["lost connection after AUTH from", "disconnect from"])
        if end.startswith("lost"):
            self.push(
                t + 3 + tries, f"postfix/{service}[{pid}]: lost connection after AUTH from unknown[{ip}]"
            )
        self.push(
            t + 3 + tries,
            f"postfix/{service}[{pid}]: disconnect from unknown[{ip}] ehlo=1 auth=0/{tries} rset=1 quit=1 commands=3/{3 + tries}",
        )

    def pickup(self, t: float) -> None:
        """Mail submitted on the host itself (cron, the panel's own notices)."""
        rng = self.rng
        qid = self.queue_id()
        self.push(
            t,
            f"postfix/pickup[{self.pid('pickup')}]: {qid}: uid={rng.choice([0, 33, 1000])} from=<{rng.choice(['root', 'www-data', 'postbode'])}>",
        )
        self.push(
            t + 0.01,
            f"postfix/cleanup[{self.pid('cleanup')}]: {qid}: message-id=<{self.start:%Y%m%d}{rng.randint(100000, 999999)}.{qid}@{MYHOSTNAME}>",
        )
        self.push(
            t + 0.02,
            f"postfix/qmgr[1187]: {qid}: from=<root@{MYHOSTNAME}>, size={rng.randint(600, 5000)}, nrcpt=1 (queue active)",
        )
        self.stats["messages"] += 1
        address, mx, ip = self.remote_address()
        self.push(
            t + 0.8,
            f"postfix/smtp[{self.pid('smtp')}]: {qid}: to=<{address}>, relay={mx}[{ip}]:25, delay=0.8, delays=0.02/0.01/0.3/0.5, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {self.queue_id()})",
        )
        self.push(t + 0.81, f"postfix/qmgr[1187]: {qid}: removed")

    def noise(self, t: float) -> None:
        rng = self.rng
        ip = self.client_ip()
        roll = rng.random()
        if roll < 0.45:  # mail clients reading their mail
            user = self.local_mailbox(rng.randrange(CUSTOMERS))
            session = self.token()[:16]
            mpid = rng.randint(1000, 99999)
            self.push(
                t,
                f"dovecot: imap-login: Login: user=<{user}>, method=PLAIN, rip={ip}, lip=203.0.113.25, mpid={mpid}, TLS, session=<{session}>",
            )
            self.push(
                t + rng.uniform(5, 900),
                f"dovecot: imap({user})<{mpid}><{session}>: Disconnected: Logged out in={rng.randint(50, 5000)} out={rng.randint(500, 500000)} deleted=0 expunged=0 trashed=0 hdr_count=0 hdr_bytes=0 body_count=0 body_bytes=0",
            )
        elif roll < 0.6:
            self.push(
                t,
                f"postfix/smtpd[{self.pid('smtpd')}]: warning: hostname {ip.replace('.', '-')}.static.example does not resolve to address {ip}: Name or service not known",
            )
        elif roll < 0.7:
            pid = self.pid("smtpd")
            self.push(t, f"postfix/smtpd[{pid}]: connect from unknown[{ip}]")
            what = rng.choice(["CONNECT", "EHLO", "STARTTLS"])
            if what == "STARTTLS":
                self.push(t + 0.5, f"postfix/smtpd[{pid}]: SSL_accept error from unknown[{ip}]: -1")
                self.push(
                    t + 0.5,
                    f"postfix/smtpd[{pid}]: warning: TLS library problem: error:0A000438:SSL routines::tlsv1 alert internal error:../ssl/record/rec_layer_s3.c:1605:SSL alert number 80:",
                )
            self.push(t + 0.6, f"postfix/smtpd[{pid}]: lost connection after {what} from unknown[{ip}]")
            self.push(
                t + 0.6,
                f"postfix/smtpd[{pid}]: disconnect from unknown[{ip}] ehlo=1 starttls=0/1 commands=1/2"
                if what == "STARTTLS"
                else f"postfix/smtpd[{pid}]: disconnect from unknown[{ip}] commands=0/0",
            )
        elif roll < 0.8:
            pid = self.pid("smtpd")
            self.push(t, f"postfix/smtpd[{pid}]: connect from unknown[{ip}]")
            self.push(
                t + 300,
                f"postfix/smtpd[{pid}]: timeout after {rng.choice(['CONNECT', 'EHLO', 'END-OF-MESSAGE'])} from unknown[{ip}]",
            )
            self.push(t + 300, f"postfix/smtpd[{pid}]: disconnect from unknown[{ip}] ehlo=1 commands=1")
        elif roll < 0.9:
            pid = self.pid("smtpd")
            self.push(t, f"postfix/smtpd[{pid}]: connect from unknown[{ip}]")
            self.push(
                t + 0.1,
                f"postfix/smtpd[{pid}]: improper command pipelining after CONNECT from unknown[{ip}]: EHLO ylmf-pc\\r\\n",
            )
            self.push(
                t + 0.2, f"postfix/smtpd[{pid}]: disconnect from unknown[{ip}] unknown=0/1 commands=0/1"
            )
        elif roll < 0.95:
            self.push(
                t,
                f"postfix/anvil[{self.pid('anvil')}]: statistics: max connection rate {rng.randint(1, 30)}/60s for (smtpd:{ip}) at {stamp(self.start + timedelta(seconds=t))}",
            )
            self.push(
                t,
                f"postfix/anvil[{self.pid('anvil')}]: statistics: max connection count {rng.randint(1, 5)} for (smtpd:{ip}) at {stamp(self.start + timedelta(seconds=t))}",
            )
            self.push(
                t,
                f"postfix/anvil[{self.pid('anvil')}]: statistics: max cache size {rng.randint(1, 40)} at {stamp(self.start + timedelta(seconds=t))}",
            )
        else:
            self.push(
                t,
                f"postfix/scache[{self.pid('scache')}]: statistics: start interval {stamp(self.start + timedelta(seconds=t - 300))}",
            )
            self.push(
                t,
                f"postfix/scache[{self.pid('scache')}]: statistics: domain lookup hits={rng.randint(0, 40)} miss={rng.randint(1, 40)} success={rng.randint(0, 90)}%",
            )
            self.push(
                t,
                f"postfix/scache[{self.pid('scache')}]: statistics: max simultaneous domains=1 addresses=1 connection=1",
            )
