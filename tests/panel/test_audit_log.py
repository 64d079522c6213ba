from panel.audit import Actor, record


def test_customer_sees_own_entries_with_who_what_when_ip(
    owner_client, owner, customer, other_customer, staff
):
    record(Actor(user=owner, ip_address="192.0.2.7"), "domain.added", customer=customer, obj=customer)
    record(Actor(user=staff, is_staff_action=True), "customer.suspended", customer=customer)
    record(Actor.system(), "secret.other", customer=other_customer)
    page = owner_client.get("/activity/").content.decode()
    assert "domain.added" in page and "owner@example.com" in page and "192.0.2.7" in page
    assert "Postbode support" in page and "staff@postbode.test" not in page
    assert "secret.other" not in page


def test_audit_log_is_paginated(owner_client, owner, customer, django_assert_max_num_queries):
    for number in range(120):
        record(Actor(user=owner), f"action.{number}", customer=customer)
    with django_assert_max_num_queries(8):
        first = owner_client.get("/activity/").content.decode()
    assert "action.119" in first and "action.69" not in first
    assert "Page 1 of 3" in first
    third = owner_client.get("/activity/?page=3").content.decode()
    assert "action.0<" in third
