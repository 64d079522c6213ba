"""Load the demo data (idempotent): a staff superuser, a demo owner, "Demo B.V." on Basis with a verified domain."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from mailaccounts.models import Domain
from mailaccounts.services.domains import add_domain, mark_domain_verified
from mailaccounts.services.mailboxes import create_alias, create_mailbox, save_autoresponder
from panel.audit import Actor
from panel.models import GB, Customer, Membership, Plan, User
from panel.services import create_customer

ADMIN_EMAIL = "admin@postbode.localhost"
ADMIN_PASSWORD = "postbode-admin-demo"
OWNER_EMAIL = "demo@postbode.localhost"
OWNER_PASSWORD = "postbode-demo-2026"
MAILBOX_PASSWORD = "Demo-Postvak-2026!"
CUSTOMER_NAME = "Demo B.V."
DOMAIN_NAME = "demo.postbode.localhost"


def ensure_user(email: str, password: str, *, staff: bool) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        create = User.objects.create_superuser if staff else User.objects.create_user
        user = create(email=email, password=password)
    EmailAddress.objects.update_or_create(
        user=user, email=email, defaults={"verified": True, "primary": True}
    )
    return user


class Command(BaseCommand):
    help = "Create the demo logins, customer and domain (safe to run again)."

    @transaction.atomic
    def handle(self, *args, **options):
        actor = Actor.system()
        ensure_user(ADMIN_EMAIL, ADMIN_PASSWORD, staff=True)
        owner = ensure_user(OWNER_EMAIL, OWNER_PASSWORD, staff=False)
        membership = Membership.objects.filter(user=owner).select_related("customer").first()
        customer = membership.customer if membership else Customer.objects.filter(name=CUSTOMER_NAME).first()
        if customer is None:
            customer = create_customer(
                owner=owner,
                name=CUSTOMER_NAME,
                billing_email=OWNER_EMAIL,
                address="Keizersgracht 100",
                postal_code="1015 AA",
                city="Amsterdam",
                country="NL",
                plan=Plan.objects.get(code="basis"),
                actor=actor,
            )
        domain = Domain.objects.filter(name=DOMAIN_NAME).first()
        if domain is None:
            domain = add_domain(customer=customer, name=DOMAIN_NAME, actor=actor)
        if not domain.is_verified:
            mark_domain_verified(domain=domain, actor=actor)
        self.ensure_mailboxes(customer, domain, actor)
        self.stdout.write(
            self.style.SUCCESS("Demo data ready.")
            + f"\n  Panel:    {settings.SITE_URL}/"
            + f"\n  Customer: {OWNER_EMAIL} / {OWNER_PASSWORD}"
            + f"\n  Staff:    {ADMIN_EMAIL} / {ADMIN_PASSWORD}  ({settings.SITE_URL}/admin/)"
            + f"\n  Mailbox:  info@{DOMAIN_NAME} / {MAILBOX_PASSWORD}  (IMAP/SMTP with `manage.py mailstack start`)"
        )

    def ensure_mailboxes(self, customer, domain, actor) -> None:
        """Two mailboxes, an alias and an autoresponder, so every page has something to show."""
        if domain.mailboxes.exists():
            return
        info, _ = create_mailbox(
            actor=actor,
            customer=customer,
            domain=domain,
            local_part="info",
            display_name="Demo B.V.",
            quota_bytes=GB,
            password=MAILBOX_PASSWORD,
        )
        sales, _ = create_mailbox(
            actor=actor,
            customer=customer,
            domain=domain,
            local_part="verkoop",
            display_name="Verkoop",
            quota_bytes=GB,
            password=MAILBOX_PASSWORD,
        )
        create_alias(
            actor=actor,
            customer=customer,
            domain=domain,
            local_part="team",
            destinations=[info.address, sales.address],
        )
        save_autoresponder(
            actor=actor,
            mailbox=sales,
            is_enabled=True,
            subject="Afwezig / Out of office",
            body="Wij zijn tot maandag afwezig. / We are away until Monday.",
            interval_days=3,
        )
