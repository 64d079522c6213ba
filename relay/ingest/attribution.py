"""Which customer a relayed message belongs to: the SASL user is a relay credential's username or a mailbox
address; otherwise the sender's or a recipient's hosted domain decides (DESIGN.md, "Relay log").

`CustomerDirectory` answers those questions for the ingest, in batches (`prefetch`) cached for the run. It is
the only part of the relay log pipeline that reads the panel's tables; the parser and the assembler are pure.
"""

from collections.abc import Iterable

from mailaccounts.models import Domain, Mailbox

from ..assembler import NOBODY, MessageDraft, Owner, RejectDraft, _owner, domain_of
from ..models import Direction, RelayCredential

LOCAL_CLIENT_IPS = {"127.0.0.1", "::1"}


class CustomerDirectory:
    """Who owns a SASL user or a domain. Lookups are batched (`prefetch`) and cached for the ingest run.

    The default constructor reads the database; tests may pass plain dictionaries instead.
    """

    def __init__(self, *, credentials=None, mailboxes=None, domains=None):
        self._from_db = credentials is None and mailboxes is None and domains is None
        self.credentials: dict[str, tuple[int, int]] = dict(credentials or {})  # username -> (id, customer)
        self.mailboxes: dict[str, int] = dict(mailboxes or {})  # address -> customer id
        self.domains: dict[str, int] = dict(domains or {})  # domain name -> customer id
        self._known_users: set[str] = set(self.credentials) | set(self.mailboxes)
        self._known_domains: set[str] = set(self.domains)

    def prefetch(self, *, usernames: set[str], domains: set[str]) -> None:
        if not self._from_db:
            return
        usernames = {u for u in usernames if u and u not in self._known_users}
        domains = {
            d for d in domains | {domain_of(u) for u in usernames} if d and d not in self._known_domains
        }
        if usernames:
            for pk, username, customer_id in RelayCredential.objects.filter(
                username__in=usernames
            ).values_list("pk", "username", "customer_id"):
                self.credentials[username] = (pk, customer_id)
            locals_ = {u.rpartition("@")[0] for u in usernames if "@" in u}
            rows = Mailbox.objects.filter(
                domain__name__in={domain_of(u) for u in usernames}, local_part__in=locals_
            ).values_list("local_part", "domain__name", "customer_id")
            for local_part, domain_name, customer_id in rows:
                self.mailboxes[f"{local_part}@{domain_name}".lower()] = customer_id
            self._known_users |= usernames
        if domains:
            for name, customer_id in (
                Domain.objects.verified().filter(name__in=domains).values_list("name", "customer_id")
            ):
                self.domains[name] = customer_id
            self._known_domains |= domains

    def by_user(self, username: str) -> Owner:
        if not username:
            return NOBODY
        credential = self.credentials.get(username)
        if credential is not None:
            return _owner(credential[1], credential[0], Direction.OUTBOUND)
        customer_id = self.mailboxes.get(username.lower())
        if customer_id is not None:
            return _owner(customer_id, None, Direction.OUTBOUND)
        return NOBODY

    def by_domain(self, address: str, direction: str) -> Owner:
        customer_id = self.domains.get(domain_of(address))
        return _owner(customer_id, None, direction) if customer_id else NOBODY

    def owner_of_message(
        self,
        *,
        sasl_username: str,
        recipients: Iterable[tuple[str, str]],
        sender: str,
        client_ip: str | None,
        client: str,
    ) -> Owner:
        owner = self.by_user(sasl_username)
        if owner.customer_id:
            return owner
        for address, orig_to in recipients:
            for candidate in (orig_to, address):
                owner = self.by_domain(candidate, Direction.INBOUND) if candidate else NOBODY
                if owner.customer_id:
                    return owner
        if sender and (client == "pickup" or client_ip in LOCAL_CLIENT_IPS):
            return self.by_domain(sender, Direction.OUTBOUND)
        return NOBODY

    def owner_of_reject(self, reject: RejectDraft) -> Owner:
        owner = self.by_user(reject.sasl_username)
        if owner.customer_id:
            return owner
        owner = self.by_domain(reject.recipient, Direction.INBOUND)
        if owner.customer_id:
            return owner
        return self.by_domain(reject.sender, Direction.OUTBOUND)

    @staticmethod
    def wanted(messages: Iterable[MessageDraft], rejects: Iterable[RejectDraft]) -> tuple[set[str], set[str]]:
        """The SASL users and domains a batch needs, for `prefetch`."""
        usernames: set[str] = set()
        domains: set[str] = set()
        for draft in messages:
            usernames.add(draft.sasl_username)
            if draft.sender:
                domains.add(domain_of(draft.sender))
            for address, orig_to in draft.recipients:
                domains.add(domain_of(address))
                domains.add(domain_of(orig_to))
        for reject in rejects:
            usernames.add(reject.sasl_username)
            domains.add(domain_of(reject.sender))
            domains.add(domain_of(reject.recipient))
        usernames.discard("")
        domains.discard("")
        return usernames, domains
