"""Load the demo data (idempotent): a staff superuser, a demo owner, "Demo B.V." on Basis with a verified domain."""

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from mailaccounts.models import Domain
from mailaccounts.services.domains import add_domain, mark_domain_verified
from panel.audit import Actor
from panel.models import Customer, Membership, Plan, User
from panel.services import create_customer

ADMIN_EMAIL = "admin@postbode.localhost"
ADMIN_PASSWORD = "postbode-admin-demo"
OWNER_EMAIL = "demo@postbode.localhost"
OWNER_PASSWORD = "postbode-demo-2026"
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
        self.stdout.write(
            self.style.SUCCESS("Demo data ready.")
            + f"\n  Panel:    {settings.SITE_URL}/"
            + f"\n  Customer: {OWNER_EMAIL} / {OWNER_PASSWORD}"
            + f"\n  Staff:    {ADMIN_EMAIL} / {ADMIN_PASSWORD}  ({settings.SITE_URL}/admin/)"
        )
