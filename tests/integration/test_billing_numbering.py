"""Gapless invoice numbers under concurrency, on PostgreSQL: real threads, each with its own connection."""

import threading
from datetime import date

import pytest
from django.db import connections, transaction
from django.utils import timezone

from billing.models import Invoice, InvoiceNumberSequence
from billing.services import create_invoice_draft, generate_invoices, issue_invoice
from tenants.audit import Actor
from tenants.models import Plan, Subscription
from tests.conftest import make_customer, make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

MONTH = date(2026, 9, 1)
EARLIER_MONTH = date(2026, 8, 1)
CUSTOMERS = 30


@pytest.fixture
def customers(postgres):
    Plan.objects.get_or_create(
        code="basis", defaults={"name": "Basis", "price_monthly": "4.50", "storage_bytes": 5 * 1024**3}
    )
    made = []
    for n in range(CUSTOMERS):
        customer = make_customer(f"Klant {n:02d}", make_user(f"owner{n}@example.com"))
        Subscription.objects.filter(customer=customer).update(
            started_at=timezone.make_aware(timezone.datetime(2025, 1, 1))
        )
        made.append(customer)
    return made


def run_concurrently(*jobs):
    """Start the jobs at the same moment in their own threads (so their own connections); re-raise errors."""
    barrier = threading.Barrier(len(jobs))
    errors = []

    def run(job):
        try:
            barrier.wait()
            job()
        except BaseException as error:  # noqa: BLE001 - reported to the test below
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a generator hung (deadlock?)"
    if errors:
        raise errors[0]


def expected_numbers(count: int) -> list[str]:
    year = timezone.localdate().year
    return [f"{year}-{n:06d}" for n in range(1, count + 1)]


def test_generators_at_once_invoice_everyone_once_without_gaps(customers):
    """Two generators per month (they race for the same invoices) and two months at once (they race
    for the same year's numbers)."""
    run_concurrently(
        lambda: generate_invoices(month=MONTH),
        lambda: generate_invoices(month=MONTH),
        lambda: generate_invoices(month=EARLIER_MONTH),
        lambda: generate_invoices(month=EARLIER_MONTH),
    )

    assert sorted(Invoice.objects.values_list("number", flat=True)) == expected_numbers(2 * CUSTOMERS)
    for month in (MONTH, EARLIER_MONTH):
        invoiced = Invoice.objects.filter(period_start=month).values_list("customer_id", flat=True)
        assert sorted(invoiced) == sorted(c.pk for c in customers)
    assert InvoiceNumberSequence.objects.get().last_number == 2 * CUSTOMERS


def test_concurrent_issuers_never_share_or_skip_a_number_even_when_one_rolls_back(customers):
    drafts = [create_invoice_draft(customer=c, month=MONTH) for c in customers]
    first_half, second_half = drafts[::2], drafts[1::2]
    rolled_back = second_half.pop()

    def issue_all(batch):
        for draft in batch:
            issue_invoice(invoice=draft, actor=Actor.system())

    def issue_then_fail():
        issue_all(second_half)
        with pytest.raises(RuntimeError), transaction.atomic():
            issue_invoice(invoice=rolled_back, actor=Actor.system())
            raise RuntimeError("the issuing transaction fails after taking a number")

    run_concurrently(lambda: issue_all(first_half), issue_then_fail)

    issued = Invoice.objects.issued()
    assert sorted(issued.values_list("number", flat=True)) == expected_numbers(CUSTOMERS - 1)
    assert not Invoice.objects.get(pk=rolled_back.pk).is_issued
    issue_invoice(invoice=rolled_back, actor=Actor.system())
    assert Invoice.objects.get(pk=rolled_back.pk).number == expected_numbers(CUSTOMERS)[-1]


def test_postgresql_itself_refuses_changes_to_issued_invoices(customers):
    from django.db import IntegrityError

    from billing.models import InvoiceLine

    issued = create_invoice_draft(customer=customers[0], month=MONTH)
    issue_invoice(invoice=issued, actor=Actor.system())
    draft = create_invoice_draft(customer=customers[1], month=MONTH)
    attempts = [
        lambda: Invoice.objects.filter(pk=issued.pk).update(total_incl_vat=0),
        lambda: Invoice.objects.filter(pk=issued.pk).update(status="draft"),
        lambda: Invoice.objects.filter(pk=issued.pk)._raw_delete(Invoice.objects.db),
        lambda: InvoiceLine.objects.filter(invoice=issued).update(amount=0),
        lambda: InvoiceLine.objects.filter(invoice=issued)._raw_delete(InvoiceLine.objects.db),
        lambda: InvoiceLine.objects.filter(invoice=draft).update(invoice=issued),
    ]
    for attempt in attempts:
        with pytest.raises(IntegrityError), transaction.atomic():
            attempt()
    # Payment fields stay writable, and drafts stay editable.
    assert (
        Invoice.objects.filter(pk=issued.pk).update(status="paid", paid_at=MONTH, payment_reference="x") == 1
    )
    assert InvoiceLine.objects.filter(invoice=draft).update(amount=1) == 1
    issued.refresh_from_db()
    assert issued.total_incl_vat > 0 and issued.lines.count() == 1
