"""A realistic, varied mail host for benchmarks: `seed_host(host, mailboxes, rng)`.

Not tuned to what the renderer likes: the shapes are those of real hosting customers.
- Domain sizes follow a heavy tail (Pareto, alpha 1.05): most domains hold 1–10 mailboxes, a few hundreds or
  thousands, and one large organisation holds 5% of the host.
- Domain names short (`ab.nl`) and long (`loodgietersbedrijf-van-der-meer-en-zonen.nl`), nine TLDs, a few
  sub-domains, and about 6% internationalised names stored as punycode (`bäckerei-müller.de`).
- Local parts: first names, `first.last`, `f.last`, role addresses, long department addresses; two password
  schemes (SHA512-CRYPT, ARGON2ID); quotas from 1 to 25 GB.
- Per mailbox: 3% forward out (half keep a copy), 1% disabled, 0.5% deleted and kept, 2% an autoresponder,
  1% own spam settings. Per domain: role aliases to 1–5 mailboxes (some with an outside address, some to
  another domain of the same customer), a catch-all on 15%, DKIM on 70% (Ed25519 as well on 10%), spam
  settings on 5% and sender lists on 2%. 5% of customers have a relay credential for their domains.
- Signatures: a template on 10% of domains (their mailboxes sign with it, filled in), an own signature on 5%
  of mailboxes (a third of them with HTML).
"""

import random
import string
from dataclasses import dataclass
from datetime import timedelta

import idna
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
from django.utils import timezone

FIRST = (
    "jan piet kees anna sophie emma julia mila tess noah sem lucas levi daan finn bram mohammed fatima "
    "yusuf aisha ilse henk gerrit wilma joke ricardo priya wei-ling oleksandr marta bart inge"
).split()
LAST = (
    "devries jansen vandenberg bakker visser smit meijer deboer mulder degroot bos vos peters hendriks "
    "vanleeuwen dekker brouwer dewit dijkstra smits vandermeer-oosterhuis yilmaz elamrani nguyen kowalski"
).split()
ROLES = (
    "info sales administratie facturen support klantenservice hr noreply boekhouding planning werkplaats "
    "receptie bestellingen marketing"
).split()
WORDS = (
    "bakkerij loodgieter schilders installatie tandarts fysio advies bouw kapsalon garage dierenarts "
    "architecten notaris transport kinderopvang stichting vereniging groep fietsen bloemen slagerij"
).split()
PLACES = "amsterdam utrecht zwolle groningen leeuwarden delft breda tilburg arnhem gent antwerpen".split()
TLDS = ["nl"] * 10 + ["com"] * 4 + ["be"] * 2 + ["de", "eu", "frl", "amsterdam", "org", "net"]
IDN_NAMES = [
    "bäckerei-müller",
    "café-zoë",
    "ijssalon-ëlla",
    "straße-und-söhne",
    "crème-brûlée",
    "smørrebrød",
    "garçon",
    "ångström-lab",
    "köln-büro",
    "façade-renovatie",
]


TAKEN: set[str] = set()  # domain names are unique across hosts


@dataclass
class Seeded:
    mailboxes: int
    domains: int
    largest_domain: str
    largest_size: int
    small_domain: str


def domain_sizes(total: int, rng: random.Random) -> list[int]:
    sizes = [max(1, total // 20)]
    while sum(sizes) < total:
        sizes.append(min(int(rng.paretovariate(1.05)), total // 10, total - sum(sizes)))
    rng.shuffle(sizes)
    return sizes


def domain_name(number: int, rng: random.Random, taken: set[str]) -> str:
    shape = rng.random()
    tld = rng.choice(TLDS)
    if shape < 0.06:
        name = f"{rng.choice(IDN_NAMES)}{number}.{tld}"
        name = idna.encode(name, uts46=True).decode("ascii")
    elif shape < 0.25:
        name = "".join(rng.choices(string.ascii_lowercase, k=rng.randint(2, 4))) + f"{number}.{tld}"
    elif shape < 0.55:
        name = f"{rng.choice(WORDS)}-{rng.choice(LAST)}{number}.{tld}"
    elif shape < 0.85:
        name = f"{rng.choice(WORDS)}{rng.choice(PLACES)}{number}.{tld}"
    elif shape < 0.95:
        parts = [rng.choice(WORDS), "van", rng.choice(LAST), "en", "zonen", rng.choice(PLACES)]
        name = f"{'-'.join(parts)}{number}.{tld}"
    else:
        name = f"mail.{rng.choice(WORDS)}{number}.{tld}"
    while name in taken:
        name = f"x{name}"
    taken.add(name)
    return name


def local_parts(size: int, rng: random.Random) -> list[str]:
    result: list[str] = []
    seen: set[str] = set()
    while len(result) < size:
        first, last = rng.choice(FIRST), rng.choice(LAST)
        shape = rng.random()
        if shape < 0.25:
            local = first
        elif shape < 0.6:
            local = f"{first}.{last}"
        elif shape < 0.8:
            local = f"{first[0]}.{last}"
        elif shape < 0.9:
            local = rng.choice(ROLES)
        elif shape < 0.97:
            local = f"{rng.choice(ROLES)}-{rng.choice(PLACES)}"
        else:
            local = f"{rng.choice(ROLES)}.afdeling-{rng.choice(PLACES)}.{first}{last}"
        local = local[:60]  # a local part has at most 64 characters
        while local in seen:
            local = f"{local[:60]}{rng.randint(2, 999)}"
        seen.add(local)
        result.append(local)
    return result


def pem_keys() -> tuple[bytes, bytes]:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ed_key = ed25519.Ed25519PrivateKey.generate()
    formats = (serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return rsa_key.private_bytes(*formats), ed_key.private_bytes(*formats)


def bench_host(name: str, postfix_dir, config_dir):
    """A mail host for a benchmark, with `postmap` (when installed) reading a main.cf of its own in
    `postfix_dir`, so that the machine's Postfix configuration plays no part."""
    import shutil

    from mailhosts.models import MailHost

    postfix_dir.mkdir(parents=True, exist_ok=True)
    (postfix_dir / "main.cf").write_text("compatibility_level = 3.6\n")
    return MailHost.objects.create(
        name=name,
        hostname=f"mx.{name}.example",
        queue=name,
        config_dir=str(config_dir),
        postmap_command=["postmap", "-c", str(postfix_dir)] if shutil.which("postmap") else [],
    )


def seed_host(host, total: int, rng: random.Random, prefix: str) -> Seeded:  # noqa: C901, PLR0912, PLR0915
    from mailaccounts.crypto import encrypt_private_key
    from mailaccounts.models import (
        Alias,
        Autoresponder,
        DkimKey,
        Domain,
        DomainSignatureTemplate,
        Mailbox,
        MailboxSignature,
    )
    from mailaccounts.passwords import hash_password
    from relay.models import RelayCredential
    from spamfilter.models import DomainSpamPolicy, MailboxSpamPolicy, SenderListEntry
    from tenants.models import Customer, Plan

    plan = Plan.objects.get(code="professional")
    now = timezone.now()
    hashes = [hash_password("Bench-Wachtwoord-2026"), "{ARGON2ID}" + hash_password("x").partition("}")[2]]
    sizes = domain_sizes(total, rng)
    taken = TAKEN
    # Customers: most have one domain, some several, one reseller-like customer fifty.
    customers = []
    index = 0
    while index < len(sizes):
        count = 50 if not customers else (1 if rng.random() < 0.8 else rng.randint(2, 8))
        customers.append(list(range(index, min(index + count, len(sizes)))))
        index += count
    customer_rows = Customer.objects.bulk_create(
        Customer(name=f"{prefix} klant {i}", billing_email=f"k{i}@{prefix}.example", city="Zwolle", plan=plan)
        for i in range(len(customers))
    )
    owner = {}
    for customer, indexes in zip(customer_rows, customers, strict=True):
        for i in indexes:
            owner[i] = customer
    domains = Domain.objects.bulk_create(
        Domain(
            customer=owner[i],
            name=domain_name(i, rng, taken),
            mailhost=host,
            verification_token=f"{prefix}-{i}",
            verified_at=now,
        )
        for i in range(len(sizes))
    )
    batch: list = []
    deleted_at = now - timedelta(days=3)
    for domain, size in zip(domains, sizes, strict=True):
        for local in local_parts(size, rng):
            roll = rng.random()
            forward = [f"{local}.prive@gmail.com"] if roll < 0.03 else []
            batch.append(
                Mailbox(
                    customer_id=domain.customer_id,
                    domain=domain,
                    local_part=local,
                    password_hash=rng.choice(hashes),
                    quota_bytes=rng.choice([1, 1, 2, 5, 10, 25]) * 1000**3,
                    forward_to=forward,
                    forward_keep_copy=rng.random() < 0.5,
                    is_enabled=not 0.03 <= roll < 0.04,
                    deleted_at=deleted_at if 0.04 <= roll < 0.045 else None,
                )
            )
        if len(batch) >= 20_000:
            Mailbox.objects.bulk_create(batch, batch_size=5_000)
            batch = []
    Mailbox.objects.bulk_create(batch, batch_size=5_000)

    boxes_by_domain: dict[int, list[tuple[int, str]]] = {}
    for pk, domain_id, local in (
        Mailbox.objects.filter(domain__mailhost=host, deleted_at__isnull=True)
        .order_by("pk")
        .values_list("id", "domain_id", "local_part")
    ):
        boxes_by_domain.setdefault(domain_id, []).append((pk, local))
    by_customer: dict[int, list[Domain]] = {}
    for domain in domains:
        by_customer.setdefault(domain.customer_id, []).append(domain)

    aliases, routed = [], []
    for domain in domains:
        boxes = boxes_by_domain.get(domain.pk, [])
        if not boxes:
            continue
        taken_locals = {local for _pk, local in boxes}
        wanted = 1 + len(boxes) // 7
        for number in range(wanted):
            local = ROLES[number] if number < len(ROLES) else f"groep{number}"
            if local in taken_locals:
                continue
            taken_locals.add(local)
            targets = [
                f"{lp}@{domain.name}" for _pk, lp in rng.sample(boxes, min(len(boxes), rng.randint(1, 5)))
            ]
            if rng.random() < 0.1:
                targets.append(f"{rng.choice(FIRST)}@partner-{rng.randint(1, 999)}.example")
            siblings = [
                d for d in by_customer[domain.customer_id] if d.pk != domain.pk and boxes_by_domain.get(d.pk)
            ]
            if siblings and rng.random() < 0.2:
                other = rng.choice(siblings)
                targets.append(f"{rng.choice(boxes_by_domain[other.pk])[1]}@{other.name}")
            aliases.append(
                Alias(customer_id=domain.customer_id, domain=domain, local_part=local, destinations=targets)
            )
        first = boxes[0][0]
        domain.postmaster_to_id = domain.abuse_to_id = first
        if rng.random() < 0.15:
            domain.catch_all_to_id = rng.choice(boxes)[0]
        routed.append(domain)
    Alias.objects.bulk_create(aliases, batch_size=5_000)
    Domain.objects.bulk_update(routed, ["postmaster_to", "abuse_to", "catch_all_to"], batch_size=2_000)

    live = [pk for boxes in boxes_by_domain.values() for pk, _local in boxes]
    Autoresponder.objects.bulk_create(
        (
            Autoresponder(
                mailbox_id=pk,
                is_enabled=True,
                subject="Afwezig / Out of office",
                body="Ik ben er tot en met maandag niet.\nVoor spoed: bel 038-1234567.",
                ends_at=now + timedelta(days=rng.randint(1, 30)),
            )
            for pk in rng.sample(live, len(live) // 50)
        ),
        batch_size=5_000,
    )
    MailboxSpamPolicy.objects.bulk_create(
        (
            MailboxSpamPolicy(
                mailbox_id=pk, inherits=rng.random() < 0.5, junk_days=rng.choice([7, 14, 30, 60])
            )
            for pk in rng.sample(live, len(live) // 100)
        ),
        batch_size=5_000,
    )
    DomainSpamPolicy.objects.bulk_create(
        DomainSpamPolicy(domain=domain, sensitivity=rng.choice(["relaxed", "normal", "strict"]))
        for domain in rng.sample(domains, len(domains) // 20)
    )
    SenderListEntry.objects.bulk_create(
        SenderListEntry(domain=domain, kind=rng.choice(["allow", "block"]), value=f"@spam{n}.example")
        for n, domain in enumerate(rng.sample(domains, len(domains) // 50))
    )

    DomainSignatureTemplate.objects.bulk_create(
        (
            DomainSignatureTemplate(
                domain=domain,
                text="Met vriendelijke groet,\n{name}\n{address} · {phone}",
                html="<p>Met vriendelijke groet,<br><b>{name}</b><br>{address} · {phone}</p>"
                if n % 2
                else "",
            )
            for n, domain in enumerate(rng.sample(domains, len(domains) // 10))
        ),
        batch_size=5_000,
    )
    MailboxSignature.objects.bulk_create(
        (
            MailboxSignature(
                mailbox_id=pk,
                name=f"Medewerker {n}",
                phone=f"+31 20 555 {n % 10_000:04d}",
                text=f"Groet,\nMedewerker {n}\nAfdeling {rng.choice(['verkoop', 'inkoop', 'service'])}",
                html=f"<p>Groet,<br><i>Medewerker {n}</i></p>" if n % 3 == 0 else "",
            )
            for n, pk in enumerate(rng.sample(live, len(live) // 20))
        ),
        batch_size=5_000,
    )

    rsa_pem, ed_pem = pem_keys()
    rsa_encrypted, ed_encrypted = encrypt_private_key(rsa_pem), encrypt_private_key(ed_pem)
    keys = []
    for domain in domains:
        if rng.random() < 0.7:
            keys.append(
                DkimKey(
                    domain=domain,
                    selector="pb2026",
                    private_key_encrypted=rsa_encrypted,
                    public_key="p",
                    state="active",
                    activated_at=now,
                )
            )
            if rng.random() < 0.14:
                keys.append(
                    DkimKey(
                        domain=domain,
                        selector="pb2026e",
                        algorithm="ed25519",
                        private_key_encrypted=ed_encrypted,
                        public_key="p",
                        state="active",
                        activated_at=now,
                    )
                )
    DkimKey.objects.bulk_create(keys, batch_size=5_000)

    for number, customer in enumerate(customer_rows):
        if rng.random() < 0.05:
            credential = RelayCredential.objects.create(
                customer=customer, name="Webshop", username=f"{prefix}-relay-{number}", secret_hash=hashes[0]
            )
            credential.domains.set(by_customer.get(customer.pk, []))

    largest = max(zip(sizes, domains, strict=True), key=lambda pair: pair[0])
    small = next(d for s, d in zip(sizes, domains, strict=True) if 3 <= s <= 10)
    return Seeded(sum(sizes), len(domains), largest[1].name, largest[0], small.name)
