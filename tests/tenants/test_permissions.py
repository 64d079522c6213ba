"""Every customer-facing URL of the panel: anonymous → login, no customer → onboarding, outsider → 404."""

import pytest

PAGES = ["/", "/plan/", "/team/", "/security/", "/activity/", "/domains/", "/domains/add/"]
POSTS = ["/plan/change/", "/team/invite/", "/team/two-factor/"]


@pytest.mark.parametrize("path", PAGES + POSTS + ["/onboarding/"])
def test_anonymous_is_sent_to_login(client, db, path):
    response = client.post(path) if path in POSTS else client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("path", PAGES)
def test_user_without_customer_is_sent_to_onboarding(client, db, path):
    from tests.conftest import make_user

    client.force_login(make_user("alone@example.com"))
    assert client.get(path)["Location"] == "/onboarding/"


@pytest.mark.parametrize("path", PAGES)
def test_members_see_the_pages(member_client, path):
    assert member_client.get(path).status_code == 200


def object_urls(domain, member):
    return [
        ("get", f"/domains/{domain.pk}/"),
        ("post", f"/domains/{domain.pk}/verify/"),
        ("get", f"/domains/{domain.pk}/delete/"),
        ("post", f"/domains/{domain.pk}/delete/"),
        ("post", f"/team/members/{member.membership.pk}/remove/"),
    ]


def test_outsider_gets_404_for_every_object_url(outsider_client, domain, member):
    for method, path in object_urls(domain, member):
        assert getattr(outsider_client, method)(path).status_code == 404, path


def test_anonymous_gets_login_for_every_object_url(client, domain, member):
    for method, path in object_urls(domain, member):
        response = getattr(client, method)(path)
        assert response["Location"].startswith("/accounts/login/"), path


@pytest.mark.parametrize("path", POSTS)
def test_owner_only_actions_are_403_for_members(member_client, path):
    assert (
        member_client.post(
            path, {"plan": "professional", "email": "a@example.com", "role": "member"}
        ).status_code
        == 403
    )


@pytest.mark.parametrize("path", POSTS)
def test_changes_are_post_only(owner_client, path):
    assert owner_client.get(path).status_code == 405
