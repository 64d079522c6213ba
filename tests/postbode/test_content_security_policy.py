"""Every page says where its scripts and styles may come from (`Content-Security-Policy`, tenants/
content_policy.py): only the panel's own files. So no page may carry a script written into it, a handler
attribute, a `<style>` element or a style attribute (a bar's width is a class); the pages that preview a
customer's HTML signature allow that signature's style attributes. The browser walk (tests/browser/
test_layout.py) checks that Chromium refuses nothing on any page."""

import re
from html.parser import HTMLParser

from django.urls import include, resolve, reverse
from django.urls import path as route

from tenants.content_policy import CONTENT_SECURITY_POLICY, WITH_STYLE_ATTRIBUTES
from tests.customer_pages import Demo, anonymous_page_paths, customer_page_paths

# A script element that runs (JSON data blocks, as allauth's, do not), or an on…= handler attribute.
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>|\son[a-z]+=\"", re.I
)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class InlineStyles(HTMLParser):
    """The <style> elements and style attributes of a page, except inside a `signature-preview` element (a
    customer's own signature HTML, shown with its styles: WITH_STYLE_ATTRIBUTES)."""

    def __init__(self, html: str):
        super().__init__()
        self.found: list[str] = []
        self.open: list[bool] = []  # per open element: inside a signature preview
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        inside = (
            bool(self.open and self.open[-1]) or "signature-preview" in (attrs.get("class") or "").split()
        )
        if tag == "style" or ("style" in attrs and not inside):
            self.found.append(self.get_starttag_text())
        if tag not in VOID:
            self.open.append(inside)

    def handle_endtag(self, tag):
        if tag not in VOID and self.open:
            self.open.pop()


def inline_styles(html: str) -> list[str]:
    return InlineStyles(html).found


PREVIEWS_SIGNATURES = {
    "mailaccounts:mailbox_signature",
    "mailaccounts:domain_signature_template",
    "devices:device_setup",
}


def directives(policy: str) -> dict[str, str]:
    return dict(part.strip().split(" ", 1) for part in policy.split(";"))


def test_the_policy_allows_scripts_and_styles_from_the_panel_only():
    policy = directives(CONTENT_SECURITY_POLICY)
    assert policy["script-src"] == "'self'" and policy["default-src"] == "'self'"
    assert policy["style-src"] == "'self'" and "style-src-attr" not in policy
    assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
    assert "form-action" not in policy  # paying and webmail redirect to other sites after a POST
    previews = directives(WITH_STYLE_ATTRIBUTES)
    assert previews.pop("style-src-attr") == "'unsafe-inline'" and previews == policy


def expected_policy(path: str) -> str:
    return (
        WITH_STYLE_ATTRIBUTES if resolve(path).view_name in PREVIEWS_SIGNATURES else CONTENT_SECURITY_POLICY
    )


def test_every_page_sends_the_policy_and_has_no_script_or_style_written_into_it(demo_client, client):
    paths = customer_page_paths(Demo.load())
    pages = {path: demo_client.get(path) for path in paths}
    pages |= {path: client.get(path) for path in anonymous_page_paths()}
    pages["/admin/"] = demo_client.get("/admin/")  # staff's login redirect, and Django's own pages below
    missing = [
        path
        for path, response in pages.items()
        if response["Content-Security-Policy"] != expected_policy(path)
    ]
    inline = {
        path: INLINE_SCRIPT.findall(response.content.decode())
        for path, response in pages.items()
        if INLINE_SCRIPT.search(response.content.decode())
    }
    styled = {
        path: found for path, response in pages.items() if (found := inline_styles(response.content.decode()))
    }
    assert not missing and not inline and not styled, (missing, inline, styled)
    previews = [path for path in pages if resolve(path).view_name in PREVIEWS_SIGNATURES]
    assert len(previews) == 3
    assert any(' style="' in pages[path].content.decode() for path in previews)  # the demo's own signature


def test_the_check_finds_styles_outside_a_signature_preview_only():
    page = (
        '<main><div class="bar"><span class="w-5"></span></div><textarea>&lt;b style="x"&gt;</textarea>'
        '<div class="signature-preview"><p><span style="color: red">Jan</span><br></p><img src="x"></div>'
        '<p style="margin: 0">x</p><style>p {}</style></main>'
    )
    assert inline_styles(page) == ['<p style="margin: 0">', "<style>"]


def test_staff_admin_pages_have_no_script_or_style_written_into_them_either(staff_client, customer):
    from django.contrib import admin

    lists = [
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for model in admin.site._registry
    ]
    for path in ["/admin/", *lists, f"/admin/panel/customer/{customer.pk}/change/"]:
        response = staff_client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert not INLINE_SCRIPT.search(response.content.decode()), path
        assert not inline_styles(response.content.decode()), path


def boom(request):
    raise RuntimeError("a bug")


urlpatterns = [route("boom/", boom), route("", include("postbode.urls"))]  # this module as the URLconf below


def test_djangos_debug_pages_keep_their_own_styles_with_debug_on_only(settings):
    """`./dev run` has DEBUG on: a traceback or an unknown address shows Django's debug page, whose stylesheet
    and scripts are written into it. With DEBUG off, the same errors get our pages and the whole policy."""
    from django.test import Client as DjangoClient

    settings.ROOT_URLCONF = __name__
    settings.DEBUG = True
    browser = DjangoClient(raise_request_exception=False)
    for url, status in [("/boom/", 500), ("/no-such-page/", 404)]:
        response = browser.get(url, headers={"accept": "text/html"})
        assert response.status_code == status and "<style" in response.text, url
        policy = directives(response["Content-Security-Policy"])
        assert policy["style-src"] == policy["script-src"] == "'self' 'unsafe-inline'", url
    assert browser.get("/robots.txt")["Content-Security-Policy"] == CONTENT_SECURITY_POLICY  # not an error
    settings.DEBUG = False
    for url in ["/boom/", "/no-such-page/"]:
        response = browser.get(url, headers={"accept": "text/html"})
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY and not inline_styles(
            response.text
        )
