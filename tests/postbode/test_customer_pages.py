"""The one list of customer pages (tests/customer_pages.py) is complete: every url the project answers is a
listed page or excluded with a reason, so a new page cannot escape the layout and Dutch-pages tests."""

from django.urls import reverse

from tests.customer_pages import (
    ANONYMOUS_PAGES,
    CUSTOMER_PAGES,
    EXCLUDED,
    EXCLUDED_PREFIXES,
    NEW_USER_PAGES,
    POST_ONLY,
    Demo,
    anonymous_page_paths,
    customer_page_paths,
    new_user_page_paths,
    url_patterns,
)

LISTED = {name for name, _ in [*CUSTOMER_PAGES, *ANONYMOUS_PAGES, *NEW_USER_PAGES]}


def test_every_url_is_a_listed_page_or_excluded_with_a_reason():
    forgotten = [
        f"{route} ({name or 'no name'})"
        for name, route, _ in url_patterns()
        if not route.startswith(EXCLUDED_PREFIXES) and name not in LISTED and name not in EXCLUDED
    ]
    assert not forgotten, (
        "pages in neither tests/customer_pages.py's CUSTOMER_PAGES/ANONYMOUS_PAGES nor its EXCLUDED: "
        + ", ".join(forgotten)
    )


def test_the_list_and_its_exclusions_name_urls_that_exist():
    names = {name for name, _, _ in url_patterns()}
    assert not (LISTED | set(EXCLUDED)) - names
    assert not LISTED & set(EXCLUDED)


def sample_kwargs(pattern) -> dict:
    """Made-up arguments of the right type: a POST-only view answers 405 before it looks anything up."""
    converters = getattr(pattern.pattern, "converters", {})
    return {
        name: 999999 if type(conv).__name__ == "IntConverter" else "x" for name, conv in converters.items()
    }


def test_post_only_exclusions_refuse_get(client, owner, customer):
    client.force_login(owner)
    post_only = {name for name, reason in EXCLUDED.items() if reason == POST_ONLY}
    answers = {
        name: client.get(reverse(name, kwargs=sample_kwargs(pattern))).status_code
        for name, _, pattern in url_patterns()
        if name in post_only
    }
    assert set(answers) == post_only
    assert {name: status for name, status in answers.items() if status != 405} == {}


def test_every_customer_page_answers_the_demo_owner(demo_client):
    paths = customer_page_paths(Demo.load())
    assert len(paths) == len(CUSTOMER_PAGES)
    answers = {path: demo_client.get(path).status_code for path in paths}
    assert {path: status for path, status in answers.items() if status != 200} == {}


def test_every_sign_in_page_answers_a_visitor(client, db):
    answers = {path: client.get(path).status_code for path in anonymous_page_paths()}
    assert {path: status for path, status in answers.items() if status != 200} == {}


def test_onboarding_answers_a_new_user(client, owner):
    client.force_login(owner)  # signed up, no customer yet
    answers = {path: client.get(path).status_code for path in new_user_page_paths()}
    assert {path: status for path, status in answers.items() if status != 200} == {}
