import pytest

from tenants.models import AuditEntry, Customer


@pytest.mark.parametrize(
    "path",
    [
        "/admin/panel/customer/",
        "/admin/panel/user/",
        "/admin/panel/plan/",
        "/admin/panel/subscription/",
        "/admin/panel/membership/",
        "/admin/panel/auditentry/",
        "/admin/mailaccounts/domain/",
    ],
)
def test_staff_lists_open(staff_client, domain, member, path):
    assert staff_client.get(path).status_code == 200


@pytest.mark.parametrize("query", ["Bakkerij", "owner@example.com", "member@example.com", "bakkerij.example"])
def test_customer_search_by_name_email_member_and_domain(staff_client, domain, member, other_customer, query):
    page = staff_client.get("/admin/panel/customer/", {"q": query}).content.decode()
    assert "Bakkerij de Vries" in page and "Concurrent B.V." not in page


def test_customer_change_page_with_inlines(staff_client, customer, member):
    page = staff_client.get(f"/admin/panel/customer/{customer.pk}/change/").content.decode()
    assert "member@example.com" in page and "Subscriptions" in page


def test_customer_autocomplete_for_domains(staff_client, customer):
    response = staff_client.get(
        "/admin/autocomplete/",
        {"app_label": "mailaccounts", "model_name": "domain", "field_name": "customer", "term": "Bakk"},
    )
    assert [r["text"] for r in response.json()["results"]] == ["Bakkerij de Vries"]


def test_suspend_asks_a_reason_then_suspends_and_audits_as_staff(staff_client, staff, customer):
    confirm = staff_client.post(
        "/admin/panel/customer/", {"action": "suspend", "_selected_action": [customer.pk]}
    )
    assert b'name="reason"' in confirm.content and b"Bakkerij de Vries" in confirm.content
    assert not Customer.objects.get(pk=customer.pk).is_suspended
    staff_client.post(
        "/admin/panel/customer/",
        {"action": "suspend", "_selected_action": [customer.pk], "reason": "Invoice 2026-0012 unpaid"},
    )
    customer.refresh_from_db()
    assert customer.is_suspended and customer.suspended_reason == "Invoice 2026-0012 unpaid"
    entry = AuditEntry.objects.get(action="customer.suspended")
    assert entry.actor == staff and entry.actor_kind == "staff"
    staff_client.post("/admin/panel/customer/", {"action": "reactivate", "_selected_action": [customer.pk]})
    assert not Customer.objects.get(pk=customer.pk).is_suspended


def test_plan_is_editable_by_staff(staff_client):
    from tenants.models import Plan

    plan = Plan.objects.get(code="basis")
    page = staff_client.get(f"/admin/panel/plan/{plan.pk}/change/")
    assert page.status_code == 200 and b'name="price_monthly"' in page.content


def test_audit_log_is_read_only(staff_client, customer, owner):
    from tenants.audit import Actor, record

    entry = record(Actor(user=owner), "x.y", customer=customer)
    page = staff_client.get(f"/admin/panel/auditentry/{entry.pk}/change/").content.decode()
    assert 'name="action"' not in page
    assert staff_client.post(f"/admin/panel/auditentry/{entry.pk}/delete/").status_code == 403


def test_domain_filters(staff_client, domain, customer):
    from mailaccounts.models import Domain

    Domain.objects.create(
        customer=customer, name="open.example", mailhost=domain.mailhost, verification_token="t"
    )
    verified = staff_client.get("/admin/mailaccounts/domain/", {"verified": "yes"}).content.decode()
    assert "bakkerij.example" in verified and "open.example" not in verified
    unverified = staff_client.get("/admin/mailaccounts/domain/", {"verified": "no"}).content.decode()
    assert "open.example" in unverified


def test_customers_cannot_open_the_admin(owner_client):
    assert owner_client.get("/admin/panel/customer/")["Location"].startswith("/admin/login/")


def test_staff_edit_of_a_customer_is_audited(staff_client, customer):
    from django.forms.models import model_to_dict

    url = f"/admin/panel/customer/{customer.pk}/change/"
    data = {
        k: v
        for k, v in model_to_dict(customer).items()
        if v is not None and k not in {"id", "plan", "status"}
    }
    data.update({"city": "Haarlem", "suspended_at": ""})
    for prefix in ["memberships", "subscriptions", "invitations"]:
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = staff_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert Customer.objects.get(pk=customer.pk).city == "Haarlem"
    entry = AuditEntry.objects.get(action="customer.edited")
    assert entry.changes == {"city": "Haarlem"} and entry.actor_kind == "staff"


def test_staff_moving_a_domain_marks_it_changed_and_audits(staff_client, domain, other_customer):
    host = domain.mailhost
    before = host.desired_revision
    response = staff_client.post(
        f"/admin/mailaccounts/domain/{domain.pk}/change/",
        {"customer": other_customer.pk, "mailhost": host.pk},
    )
    assert response.status_code == 302
    domain.refresh_from_db()
    host.refresh_from_db()
    assert domain.customer == other_customer
    assert host.desired_revision == before + 1 == domain.revision
    entry = AuditEntry.objects.get(action="domain.changed_by_staff")
    assert entry.actor_kind == "staff" and "customer" in entry.changes


def test_staff_saving_a_customer_unchanged_records_nothing(staff_client, customer):
    from django.forms.models import model_to_dict

    data = {
        k: v
        for k, v in model_to_dict(customer).items()
        if v is not None and k not in {"id", "plan", "status", "suspended_at"}
    }
    for prefix in ["memberships", "subscriptions", "invitations"]:
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = staff_client.post(f"/admin/panel/customer/{customer.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert not AuditEntry.objects.filter(action="customer.edited").exists()


def test_staff_add_a_customer_on_a_plan_with_its_first_subscription(staff_client, staff):
    from tenants.models import Plan, Subscription

    data = {
        "name": "Slagerij Jansen",
        "billing_email": "boeken@slagerij.example",
        "address": "Markt 3",
        "postal_code": "2011 RA",
        "city": "Haarlem",
        "country": "NL",
        "language": "nl",
        "plan": Plan.objects.get(code="basis").pk,
    }
    for prefix in ["memberships", "subscriptions", "invitations"]:
        data.update({f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0})
    response = staff_client.post("/admin/panel/customer/add/", data)
    assert response.status_code == 302, response.content.decode()[:3000]
    customer = Customer.objects.get(name="Slagerij Jansen")
    subscription = Subscription.objects.get(customer=customer)
    assert (
        subscription.plan.code == "basis"
        and subscription.ended_at is None
        and subscription.changed_by == staff
    )
    entry = AuditEntry.objects.get(action="customer.created")
    assert entry.customer == customer and entry.actor_kind == "staff" and entry.changes["plan"] == "basis"
