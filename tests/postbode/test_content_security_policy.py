"""Every page says where its scripts may come from (`Content-Security-Policy`, postbode/middleware.py): only
the panel's own files. So no page may carry a script written into it or a handler attribute; the browser
walk (tests/browser/test_layout.py) checks that Chromium refuses nothing on any page."""

import re

from postbode.middleware import CONTENT_SECURITY_POLICY
from tests.customer_pages import Demo, anonymous_page_paths, customer_page_paths

# A script element that runs (JSON data blocks, as allauth's, do not), or an on…= handler attribute.
INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>|\son[a-z]+=\"", re.I
)


def test_the_policy_allows_scripts_from_the_panel_only():
    directives = dict(part.strip().split(" ", 1) for part in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'" and directives["default-src"] == "'self'"
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "form-action" not in directives  # paying and webmail redirect to other sites after a POST


def test_every_page_sends_the_policy_and_has_no_script_written_into_it(demo_client, client):
    paths = customer_page_paths(Demo.load())
    pages = {path: demo_client.get(path) for path in paths}
    pages |= {path: client.get(path) for path in anonymous_page_paths()}
    pages["/admin/"] = demo_client.get("/admin/")  # staff's login redirect, and Django's own pages below
    missing = [
        path
        for path, response in pages.items()
        if response["Content-Security-Policy"] != CONTENT_SECURITY_POLICY
    ]
    inline = {
        path: INLINE_SCRIPT.findall(response.content.decode())
        for path, response in pages.items()
        if INLINE_SCRIPT.search(response.content.decode())
    }
    assert not missing and not inline, (missing, inline)


def test_staff_admin_pages_have_no_script_written_into_them_either(staff_client, customer):
    for path in ["/admin/", "/admin/panel/customer/", f"/admin/panel/customer/{customer.pk}/change/"]:
        response = staff_client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert not INLINE_SCRIPT.search(response.content.decode()), path
