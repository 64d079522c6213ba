from datetime import date, timedelta

from django.urls import reverse
from django.utils import timezone

from billing.plans import change_plan
from billing.services import month_bounds
from tenants.audit import Actor
from tenants.models import Plan

PLAN_URL = reverse("plan")


def test_the_plan_screen_shows_the_next_invoices_expected_amount(owner_client, customer, history):
    history(customer, [("basis", date(2025, 1, 1))])
    first, last = month_bounds(timezone.localdate())
    page = owner_client.get(PLAN_URL).text
    assert 'id="next-invoice"' in page
    assert "€\xa05.45" in page  # a whole month of Basis, 4.50 + 0.95 VAT
    assert (last + timedelta(days=1)).strftime("%Y") in page


def test_a_plan_change_this_month_shows_up_prorated(owner_client, owner, customer, history):
    first, last = month_bounds(timezone.localdate())
    history(customer, [("basis", date(2025, 1, 1))])
    change_plan(customer=customer, plan=Plan.objects.get(code="professional"), actor=Actor(user=owner))
    page = owner_client.get(PLAN_URL).text
    if timezone.localdate() == first:  # changed on the 1st: the whole month is Professional
        assert "Plan Professional" in page and "Plan Basis" not in page
    else:
        assert "Plan Basis" in page and "Plan Professional" in page


def test_members_see_the_plan_but_not_the_invoice_estimate(member_client, customer):
    response = member_client.get(PLAN_URL)
    assert response.status_code == 200
    assert 'id="next-invoice"' not in response.text
