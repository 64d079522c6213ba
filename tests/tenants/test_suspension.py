from tenants.audit import Actor
from tenants.models import AuditEntry, Customer, Invitation
from tenants.services import reactivate_customer, suspend_customer


def suspend(customer, staff=None):
    suspend_customer(customer=customer, reason="unpaid", actor=Actor(user=staff, is_staff_action=True))


def test_suspended_users_can_look_and_see_the_banner(owner_client, customer, domain):
    suspend(customer)
    for path in ["/", "/plan/", "/team/", "/domains/", f"/domains/{domain.pk}/", "/activity/", "/security/"]:
        response = owner_client.get(path)
        assert response.status_code == 200, path
        assert "This account is suspended" in response.content.decode()


def test_every_change_is_refused_and_nothing_changes(owner_client, customer, domain, member):
    from mailaccounts.models import Domain

    suspend(customer)
    attempts = [
        ("/plan/change/", {"plan": "professional"}),
        ("/team/invite/", {"email": "x@example.com", "role": "member"}),
        (f"/team/members/{member.membership.pk}/remove/", {}),
        ("/domains/add/", {"name": "nieuw.example"}),
        (f"/domains/{domain.pk}/delete/", {}),
    ]
    for path, data in attempts:
        response = owner_client.post(path, data, HTTP_REFERER="http://testserver/plan/", follow=True)
        assert response.status_code == 200, path
        assert "changes are not possible" in response.content.decode(), path
    customer.refresh_from_db()
    assert customer.plan.code == "basis"
    assert not Invitation.objects.exists()
    assert member.membership.pk
    assert list(Domain.objects.values_list("name", flat=True)) == ["bakkerij.example"]


def test_logout_and_language_switch_still_work(owner_client, customer):
    suspend(customer)
    assert owner_client.post("/i18n/setlang/", {"language": "en"}).status_code == 302
    response = owner_client.post("/accounts/logout/")
    assert response.status_code == 302
    assert owner_client.get("/")["Location"].startswith("/accounts/login/")


def test_suspend_and_reactivate_are_audited_as_staff(customer, staff):
    suspend(customer, staff)
    customer.refresh_from_db()
    assert customer.is_suspended and customer.suspended_reason == "unpaid"
    reactivate_customer(customer=customer, actor=Actor(user=staff, is_staff_action=True))
    customer.refresh_from_db()
    assert not customer.is_suspended
    kinds = set(AuditEntry.objects.filter(customer=customer).values_list("action", "actor_kind"))
    assert kinds == {("customer.suspended", "staff"), ("customer.reactivated", "staff")}


def test_other_customers_can_still_change_things(outsider_client, customer):
    suspend(customer)
    outsider_client.post("/domains/add/", {"name": "vrij.example"})
    from mailaccounts.models import Domain

    assert Domain.objects.filter(name="vrij.example").exists()
    assert Customer.objects.get(pk=customer.pk).is_suspended
