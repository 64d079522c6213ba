"""The chart reads the daily roll-up (`relay.rollup`): the same numbers as counting the raw rows."""

from datetime import UTC, date, datetime, timedelta

from django.utils import timezone

from relay import rollup
from relay.ingest import ingest_lines
from relay.models import RelayDailyCount, RelayDailyPending
from relay.search import daily_chart
from tests.relay.logs import EXPIRED, MIXED, message_at

LAST_DAY = date(2026, 11, 30)  # the logs' last day


def chart_counts(customer, today=LAST_DAY) -> dict[date, dict[str, int]]:
    return {
        day.day: {status: count for status, _label, count, _pct in day.segments}
        for day in daily_chart(customer, today=today)
    }


def raw_counts(customer, today=LAST_DAY) -> dict[date, dict[str, int]]:
    """What the chart showed when it counted the raw rows itself."""
    counts: dict[date, dict[str, int]] = {}
    for i in range(14):
        day = today - timedelta(days=13 - i)
        found = rollup.counts_from_raw_rows(rollup.day_start(day), rollup.day_start(day + timedelta(days=1)))
        counts[day] = {status: n for (customer_id, status), n in found.items() if customer_id == customer.pk}
    return counts


def test_the_chart_shows_the_counts_of_the_raw_rows(db, credential, other_domain):
    ingest_lines(EXPIRED.splitlines())
    ingest_lines(MIXED.splitlines())
    ingest_lines(  # another customer's traffic, which is never counted as the owner's
        MIXED.replace("bakkerij.example", "concurrent.example")
        .replace("relay-7k2m9q", "relay-other")
        .replace("4F3A21C0ABC", "9F3A21C0999")
        .replace("6C8D41C0AAA", "9C8D41C0998")
        .replace("5B7C31C0DEF", "9B7C31C0997")
        .splitlines()
    )
    chart = chart_counts(credential.customer)
    assert chart == raw_counts(credential.customer)
    # MIXED: two sent (one after greylisting), one bounced, one refused; EXPIRED: its bounce notification.
    assert chart[LAST_DAY] == {"sent": 2, "bounced": 1, "rejected": 1, "queued": 1}
    assert chart[date(2026, 11, 25)] == {"expired": 1}
    assert not RelayDailyPending.objects.exists()  # every mark was rolled up


def test_a_later_batch_that_changes_a_status_moves_the_count(db, credential):
    lines = EXPIRED.splitlines()
    ingest_lines(lines[:5])  # received on the 25th, deferred twice
    assert chart_counts(credential.customer)[date(2026, 11, 25)] == {"deferred": 1}
    ingest_lines(lines[5:])  # expired on the 30th: the 25th's count moves from deferred to expired
    assert chart_counts(credential.customer)[date(2026, 11, 25)] == {"expired": 1}
    assert chart_counts(credential.customer) == raw_counts(credential.customer)


def test_ingesting_the_same_lines_again_changes_no_count(db, credential):
    ingest_lines(MIXED.splitlines())
    before = list(RelayDailyCount.objects.values_list("customer_id", "day", "status", "count"))
    ingest_lines(MIXED.splitlines())
    assert list(RelayDailyCount.objects.values_list("customer_id", "day", "status", "count")) == before


def test_days_are_the_charts_local_days(db, credential):
    """A message received at 23:30 UTC on the 1st is on the 2nd in Amsterdam, as the chart always showed."""
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    ingest_lines(message_at(late, "5E6F7A8B9C"))
    assert timezone.localtime(late).date() == date(2026, 12, 2)
    chart = chart_counts(credential.customer, today=date(2026, 12, 2))
    assert chart[date(2026, 12, 2)] == {"sent": 1, "rejected": 1}
    assert chart == raw_counts(credential.customer, today=date(2026, 12, 2))


def test_a_refresh_clears_only_the_marks_it_read(db, credential):
    ingest_lines(MIXED.splitlines())
    rollup.mark_days([date(2026, 11, 29)])
    assert rollup.refresh() == [date(2026, 11, 29)]
    assert rollup.refresh() == []


def test_the_roll_up_is_kept_a_year_and_goes_with_its_customer(db, credential):
    ingest_lines(MIXED.splitlines())
    RelayDailyCount.objects.create(customer=credential.customer, day=date(2020, 1, 1), status="sent", count=3)
    assert rollup.purge_older_than() == 1
    assert RelayDailyCount.objects.filter(day=LAST_DAY).exists()
    credential.customer.delete()
    assert not RelayDailyCount.objects.exists()
