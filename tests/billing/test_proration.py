from datetime import date
from decimal import Decimal

from billing.services import compute_lines, create_invoice_draft, month_bounds, prorate


def lines_for(customer, month: date):
    first, last = month_bounds(month)
    return [
        (line.plan.code, line.period_start.day, line.period_end.day, line.days, line.amount)
        for line in compute_lines(customer=customer, first=first, last=last)
    ]


def test_a_full_month_costs_the_monthly_price(customer, history):
    history(customer, [("basis", date(2026, 9, 15))])
    assert lines_for(customer, date(2026, 10, 1)) == [("basis", 1, 31, 31, Decimal("4.50"))]


def test_an_upgrade_mid_month_is_prorated_by_day(customer, history):
    history(customer, [("basis", date(2026, 9, 1)), ("professional", date(2026, 11, 16))])
    # November has 30 days: 15 on Basis, 15 on Professional, the new plan counts from the day of the change.
    assert lines_for(customer, date(2026, 11, 1)) == [
        ("basis", 1, 15, 15, Decimal("2.25")),
        ("professional", 16, 30, 15, Decimal("3.00")),
    ]


def test_a_downgrade_mid_month_is_prorated_by_day(customer, history):
    history(customer, [("professional", date(2026, 9, 1)), ("basis", date(2026, 10, 11))])
    assert lines_for(customer, date(2026, 10, 1)) == [
        ("professional", 1, 10, 10, Decimal("1.94")),  # 6.00 × 10/31 = 1.935… → 1.94
        ("basis", 11, 31, 21, Decimal("3.05")),  # 4.50 × 21/31 = 3.048… → 3.05
    ]


def test_a_change_on_the_first_of_the_month_bills_only_the_new_plan(customer, history):
    history(customer, [("basis", date(2026, 9, 1)), ("professional", date(2026, 10, 1))])
    assert lines_for(customer, date(2026, 9, 1)) == [("basis", 1, 30, 30, Decimal("4.50"))]
    assert lines_for(customer, date(2026, 10, 1)) == [("professional", 1, 31, 31, Decimal("6.00"))]


def test_a_change_on_the_last_day_of_the_month_bills_one_day_of_the_new_plan(customer, history):
    history(customer, [("basis", date(2026, 9, 1)), ("professional", date(2026, 10, 31))])
    assert lines_for(customer, date(2026, 10, 1)) == [
        ("basis", 1, 30, 30, Decimal("4.35")),  # 4.50 × 30/31 = 4.354…
        ("professional", 31, 31, 1, Decimal("0.19")),  # 6.00 / 31 = 0.193…
    ]
    assert lines_for(customer, date(2026, 11, 1)) == [("professional", 1, 30, 30, Decimal("6.00"))]


def test_a_customer_who_joins_on_the_31st_pays_one_day(customer, history):
    history(customer, [("basis", date(2026, 12, 31))])
    assert lines_for(customer, date(2026, 12, 1)) == [("basis", 31, 31, 1, Decimal("0.15"))]
    assert lines_for(customer, date(2027, 1, 1)) == [("basis", 1, 31, 31, Decimal("4.50"))]
    assert lines_for(customer, date(2026, 11, 1)) == []


def test_february_of_a_leap_year_has_29_days(customer, history):
    history(customer, [("basis", date(2028, 1, 1)), ("professional", date(2028, 2, 15))])
    assert lines_for(customer, date(2028, 2, 1)) == [
        ("basis", 1, 14, 14, Decimal("2.17")),  # 4.50 × 14/29 = 2.172…
        ("professional", 15, 29, 15, Decimal("3.10")),  # 6.00 × 15/29 = 3.103…
    ]


def test_february_of_a_common_year_has_28_days(customer, history):
    history(customer, [("basis", date(2027, 1, 1)), ("professional", date(2027, 2, 15))])
    assert lines_for(customer, date(2027, 2, 1)) == [
        ("basis", 1, 14, 14, Decimal("2.25")),
        ("professional", 15, 28, 14, Decimal("3.00")),
    ]


def test_a_plan_changed_twice_in_one_month_gives_three_lines(customer, history):
    history(
        customer,
        [("basis", date(2026, 9, 1)), ("professional", date(2026, 11, 10)), ("basis", date(2026, 11, 20))],
    )
    assert lines_for(customer, date(2026, 11, 1)) == [
        ("basis", 1, 9, 9, Decimal("1.35")),
        ("professional", 10, 19, 10, Decimal("2.00")),
        ("basis", 20, 30, 11, Decimal("1.65")),
    ]


def test_a_plan_held_for_less_than_a_day_is_not_billed(customer, history):
    history(
        customer,
        [("basis", date(2026, 9, 1)), ("professional", date(2026, 11, 10)), ("basis", date(2026, 11, 10))],
    )
    assert lines_for(customer, date(2026, 11, 1)) == [("basis", 1, 30, 30, Decimal("4.50"))]


def test_a_cancelled_subscription_stops_billing_on_its_end_day(customer, history):
    history(customer, [("basis", date(2026, 9, 1))], ended_on=date(2026, 11, 11))
    assert lines_for(customer, date(2026, 11, 1)) == [("basis", 1, 10, 10, Decimal("1.50"))]
    assert lines_for(customer, date(2026, 12, 1)) == []


def test_days_follow_the_panel_time_zone_not_utc(customer, settings):
    """A change at 00:30 in Amsterdam (23:30 UTC the day before) counts from the Amsterdam day."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from tenants.models import Plan, Subscription

    amsterdam = ZoneInfo("Europe/Amsterdam")
    Subscription.objects.filter(customer=customer).delete()
    change = datetime(2026, 10, 16, 0, 30, tzinfo=amsterdam)
    Subscription.objects.create(
        customer=customer,
        plan=Plan.objects.get(code="basis"),
        started_at=datetime(2026, 9, 1, tzinfo=amsterdam),
        ended_at=change,
    )
    Subscription.objects.create(
        customer=customer, plan=Plan.objects.get(code="professional"), started_at=change
    )
    assert [(c, s, e) for c, s, e, _, _ in lines_for(customer, date(2026, 10, 1))] == [
        ("basis", 1, 15),
        ("professional", 16, 31),
    ]


def test_rounding_is_half_up_to_cents_per_line():
    assert prorate(Decimal("4.50"), 1, 31) == Decimal("0.15")
    assert prorate(Decimal("0.10"), 15, 30) == Decimal("0.05")
    assert prorate(Decimal("0.05"), 1, 2) == Decimal("0.03")


def test_a_draft_adds_21_percent_vat_to_the_sum_of_rounded_lines(customer, history):
    history(
        customer,
        [("basis", date(2026, 9, 1)), ("professional", date(2026, 11, 10)), ("basis", date(2026, 11, 20))],
    )
    invoice = create_invoice_draft(customer=customer, month=date(2026, 11, 1))
    assert sum(line.amount for line in invoice.lines.all()) == invoice.total_excl_vat == Decimal("5.00")
    assert invoice.vat_rate == Decimal("0.21")
    assert invoice.vat_amount == Decimal("1.05")
    assert invoice.total_incl_vat == Decimal("6.05")
    assert not invoice.reverse_charge
    assert invoice.number is None
