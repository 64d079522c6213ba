"""The membership every signed-in request reads (tenants/middleware.py), from SQL compiled once."""

from types import SimpleNamespace

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tenants import middleware
from tenants.middleware import _membership, membership_query


def fields(instance) -> dict:
    return {name: value for name, value in vars(instance).items() if name != "_state"}


def test_the_compiled_query_gives_what_the_orm_gives(owner, customer, member):
    for user in (owner, member):
        expected = membership_query(user.pk).get()
        with CaptureQueriesContext(connection) as queries:
            got = _membership(SimpleNamespace(user=user))
            assert fields(got) == fields(expected)  # annotations included (mailbox_login_id)
            assert fields(got.customer) == fields(expected.customer)
            assert fields(got.customer.plan) == fields(expected.customer.plan)
        assert len(queries) == 1, "customer and plan come with it"
        assert got._state.db == "default" and not got._state.adding
        assert not got.customer._state.adding and not got.customer.plan._state.adding


def test_no_membership_and_anonymous_are_none(db):
    from tests.conftest import make_user

    assert _membership(SimpleNamespace(user=make_user("alone@example.com"))) is None
    assert _membership(SimpleNamespace(user=AnonymousUser())) is None


def test_it_is_compiled_once(owner, customer, outsider, monkeypatch):
    middleware._compiled.clear()
    _membership(SimpleNamespace(user=owner))

    def no_compiling(user_id):
        raise AssertionError("compiled again")

    monkeypatch.setattr(middleware, "membership_query", no_compiling)
    assert _membership(SimpleNamespace(user=outsider)).customer == outsider.membership.customer
    assert _membership(SimpleNamespace(user=owner)).customer == customer


@pytest.mark.parametrize("field", ["customer", "role"])
def test_a_changed_membership_is_read_afresh(owner, customer, outsider, field):
    from tenants.models import Membership

    _membership(SimpleNamespace(user=owner))
    if field == "customer":
        Membership.objects.filter(user=owner).update(customer=outsider.membership.customer)
        assert _membership(SimpleNamespace(user=owner)).customer == outsider.membership.customer
    else:
        Membership.objects.filter(user=owner).update(role=Membership.Role.MEMBER)
        assert _membership(SimpleNamespace(user=owner)).role == Membership.Role.MEMBER
