import pytest
from django.core.exceptions import ValidationError

from billing.plans import change_plan
from mailaccounts.services.storage import pool_summary
from tenants.audit import Actor
from tenants.models import GB, AuditEntry, Customer, Plan, Subscription


def test_plan_page_shows_plan_storage_and_prices(owner_client, make_mailbox):
    make_mailbox("info", quota_gb=2, used_gb=0.5)
    make_mailbox("old", quota_gb=3, deleted=True)
    page = owner_client.get("/plan/").content.decode()
    assert "Basis" in page and "€\xa04.50" in page and "€\xa05.45" in page
    assert "2\xa0GB (40%)" in page  # allocated: the deleted mailbox does not count
    assert "500\xa0MB" in page  # used: decimal units, as the product page sells them
    assert 'id="billing-next-invoice"' in page


def test_storage_use_sums_active_mailboxes(customer, make_mailbox):
    make_mailbox("a", quota_gb=1, used_gb=0.25)
    make_mailbox("b", quota_gb=2, used_gb=1)
    make_mailbox("gone", quota_gb=4, used_gb=4, deleted=True)
    use = pool_summary(customer)
    assert use.allocated_bytes == 3 * GB
    assert use.used_bytes == int(1.25 * GB)
    assert use.free_bytes == 2 * GB


def test_preview_shows_new_price_excl_and_incl_vat(owner_client):
    page = owner_client.get("/plan/?preview=professional").content.decode()
    assert 'id="preview"' in page
    assert "€\xa06.00" in page and "€\xa07.26" in page
    assert "€\xa01.50 more per month excl. VAT" in page


def test_owner_changes_plan_and_history_is_kept(owner_client, customer, owner):
    response = owner_client.post("/plan/change/", {"plan": "professional"})
    assert response.status_code == 302
    customer.refresh_from_db()
    assert customer.plan.code == "professional"
    subscriptions = list(Subscription.objects.filter(customer=customer).order_by("started_at", "id"))
    assert [s.plan.code for s in subscriptions] == ["basis", "professional"]
    assert subscriptions[0].ended_at is not None and subscriptions[1].ended_at is None
    assert subscriptions[1].changed_by == owner
    assert AuditEntry.objects.filter(customer=customer, action="plan.changed").exists()
    page = owner_client.get("/plan/").content.decode()
    assert page.count("<tr><td>Basis</td>") == 1 and page.count("<tr><td>Professional</td>") == 1


def test_downgrade_refused_when_quotas_exceed_new_storage(owner_client, customer, make_mailbox):
    customer.plan = Plan.objects.get(code="professional")
    customer.save()
    make_mailbox("big", quota_gb=7)
    response = owner_client.post("/plan/change/", {"plan": "basis"}, follow=True)
    page = response.content.decode()
    assert "Lower mailbox quotas by 2\xa0GB" in page
    customer.refresh_from_db()
    assert customer.plan.code == "professional"


def test_change_plan_to_same_plan_is_refused(customer, owner):
    with pytest.raises(ValidationError):
        change_plan(customer=customer, plan=customer.plan, actor=Actor(user=owner))
    assert Subscription.objects.filter(customer=customer).count() == 1


def test_unknown_plan_is_refused(owner_client, customer):
    response = owner_client.post("/plan/change/", {"plan": "platinum"}, follow=True)
    assert "Choose one of the available plans" in response.content.decode()
    assert Customer.objects.get(pk=customer.pk).plan.code == "basis"


def test_member_cannot_change_plan(member_client, customer):
    assert member_client.post("/plan/change/", {"plan": "professional"}).status_code == 403
    assert Customer.objects.get(pk=customer.pk).plan.code == "basis"


def test_member_sees_plan_without_change_links(member_client):
    response = member_client.get("/plan/?preview=professional")
    assert response.status_code == 200
    assert "Preview change" not in response.content.decode()
    assert 'id="preview"' not in response.content.decode()


def test_preview_warns_when_downgrade_does_not_fit(owner_client, customer, make_mailbox):
    customer.plan = Plan.objects.get(code="professional")
    customer.save()
    make_mailbox("big", quota_gb=6)
    page = owner_client.get("/plan/?preview=basis").content.decode()
    assert "lower them by 1\xa0GB first" in page
    assert "disabled>Switch to Basis</button>" in page  # the button does not invite a change that will fail


def test_the_vat_rate_shown_is_the_configured_one(owner_client, settings):
    settings.VAT_RATE = "0.09"
    page = owner_client.get("/plan/").content.decode()
    assert "9% VAT" in page and "21%" not in page


def test_plans_list_what_the_panel_offers_as_included_and_only_the_rest_as_coming(owner_client):
    page = owner_client.get("/plan/").content.decode()
    coming = page.split('class="soon"')
    assert "Spam filter" in coming[0] and "Daily backups with restore" in coming[0]
    assert "Shared calendars and contacts" in coming[0]
    assert all("Spam filter" not in part.split("</li>")[0] for part in coming[1:])
    # webmail works (issue 20): included, and nothing is left as coming
    assert "Webmail from anywhere, with your own signature" in coming[0]
    assert len(coming) == 1
