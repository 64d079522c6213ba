from datetime import date

from django.template.loader import render_to_string
from django.test import RequestFactory
from django.utils import timezone

from billing.services import month_bounds
from tenants.models import Membership


def render_for(user):
    request = RequestFactory().get("/plan/")
    request.user = user
    request.membership = Membership.objects.filter(user=user).first()
    return render_to_string("billing/_next_invoice.html", {}, request=request)


def test_the_plan_screen_include_shows_the_expected_amount(owner, customer, history):
    first, _ = month_bounds(timezone.localdate())
    history(customer, [("basis", date(2025, 1, 1))])
    html = render_for(owner)
    assert "Next invoice" in html
    assert "€\xa05.45" in html  # 4.50 + 0.95 VAT for a whole month
    assert first.strftime("%Y") in html


def test_the_expected_amount_is_prorated_after_a_change_this_month(owner, customer, history):
    first, last = month_bounds(timezone.localdate())
    if first == last:  # pragma: no cover - a one-day month does not exist
        return
    history(customer, [("basis", date(2025, 1, 1)), ("professional", last)])
    html = render_for(owner)
    assert "Plan Basis" in html and "Plan Professional" in html


def test_members_without_the_billing_role_see_no_amounts(member, customer):
    assert "Next invoice" not in render_for(member)


def test_a_billing_member_sees_the_expected_amount(billing_member, customer):
    assert "Next invoice" in render_for(billing_member)
