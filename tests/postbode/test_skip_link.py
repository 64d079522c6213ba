"""Every page with a menu starts with a link past it to the page's own content (WCAG 2.4.1, bypass blocks):
the first link of the page, pointing at the one `<main id="main">`. The Tab key in a real browser:
tests/browser/test_layout.py."""

import re

from tests.customer_pages import Demo, anonymous_page_paths, customer_page_paths, new_user_page_paths

SKIP_LINK = re.compile(r'<body[^>]*>\s*<a class="skip-link" href="#main">([^<]+)</a>')


def skips_to_main(html: str) -> str | None:
    """What is wrong with the page's skip link, or None."""
    if not SKIP_LINK.search(html):
        return "no skip link as the body's first element"
    targets = re.findall(r'<(\w+)[^>]*\sid="main"', html)
    if targets != ["main"]:
        return f'id="main" on {targets}, not on the one <main>'
    return None


def test_every_customer_page_starts_with_a_link_to_its_content_in_dutch(demo_client):
    problems = {
        path: skips_to_main(demo_client.get(path).content.decode())
        for path in customer_page_paths(Demo.load())
    }
    assert {path: problem for path, problem in problems.items() if problem} == {}
    page = demo_client.get("/").content.decode()
    assert SKIP_LINK.search(page)[1] == "Naar de inhoud"


def test_sign_in_and_onboarding_pages_have_it_too(client, owner):
    problems = {path: skips_to_main(client.get(path).content.decode()) for path in anonymous_page_paths()}
    client.force_login(owner)
    problems |= {path: skips_to_main(client.get(path).content.decode()) for path in new_user_page_paths()}
    assert {path: problem for path, problem in problems.items() if problem} == {}
