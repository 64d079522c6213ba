"""deploy/nginx/postbode-panel.conf, run by the real nginx on loopback in front of a stand-in for Gunicorn: while
the panel answers, its answers pass unchanged; while it does not (a restart), the visitor gets our page from
`manage.py unavailable_pages` in their language with 503 and Retry-After, instead of nginx's own 502."""

import http.server
import threading
from pathlib import Path

import pytest
from django.core.management import call_command

from mailhosts.stack import make_certificates
from tests.integration.nginx import (
    ROOT,
    assert_our_unavailable_page,
    free_port,
    https_request,
    replaced,
    running_nginx,
)

pytestmark = [pytest.mark.integration]

HOST = "panel.postbode.nl"


class Panel(http.server.BaseHTTPRequestHandler):
    """Stands in for Gunicorn: 200 with the path, and a 503 of its own for /healthz (the database down)."""

    def do_GET(self):
        status, body = (
            (503, b"database: down") if self.path == "/healthz" else (200, b"panel " + self.path.encode())
        )
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_POST = do_GET

    def log_message(self, *args):
        """Quiet: the tests read the answers, not a request log."""


@pytest.fixture
def proxy(tmp_path, settings):
    static = tmp_path / "static"
    settings.STATIC_ROOT = str(static)
    call_command("unavailable_pages", verbosity=0)
    make_certificates(tmp_path, HOST)  # the mail stack's throw-away CA and a certificate it signed for HOST
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    https_port, http_port, upstream_port = free_port(), free_port(), free_port()
    site = replaced(
        (ROOT / "deploy" / "nginx" / "postbode-panel.conf").read_text(),
        {
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen [::]:80;": "",
            "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
            "listen [::]:443 ssl http2;": "",
            "/etc/letsencrypt/live/panel.postbode.nl/fullchain.pem": str(cert),
            "/etc/letsencrypt/live/panel.postbode.nl/privkey.pem": str(key),
            "ssl_stapling on;": "ssl_stapling off;",  # the throw-away CA has no OCSP responder
            "ssl_stapling_verify on;": "",
            "root /var/www/letsencrypt;": f"root {tmp_path};",
            "http://127.0.0.1:8000": f"http://127.0.0.1:{upstream_port}",
            "/opt/postbode/staticfiles/unavailable/": f"{static}/unavailable/",
        },
    )
    with running_nginx(tmp_path, site, https_port):
        yield ProxyUnderTest(https_port, upstream_port, tmp_path / "ca.pem")


class ProxyUnderTest:
    def __init__(self, port: int, upstream_port: int, ca: Path):
        self.port, self.upstream_port, self.ca = port, upstream_port, ca
        self.upstream = None

    def start_panel(self):
        self.upstream = http.server.ThreadingHTTPServer(("127.0.0.1", self.upstream_port), Panel)
        threading.Thread(target=self.upstream.serve_forever, daemon=True).start()

    def stop_panel(self):
        self.upstream.shutdown()
        self.upstream.server_close()

    def request(self, method: str, path: str, *, headers=None, body=None) -> tuple[int, dict, str]:
        return https_request(self.port, self.ca, HOST, method, path, headers=headers, body=body)


def test_while_the_panel_answers_its_answers_pass_unchanged(proxy):
    proxy.start_panel()
    try:
        status, headers, body = proxy.request("GET", "/domains/")
        assert (status, body) == (200, "panel /domains/")
        assert headers["strict-transport-security"] == "max-age=63072000; includeSubDomains"
        status, _headers, body = proxy.request("GET", "/healthz")
        assert (status, body) == (503, "database: down")  # monitoring sees the panel's own answer
    finally:
        proxy.stop_panel()


def test_while_the_panel_restarts_visitors_get_our_page_in_their_language(proxy):
    status, headers, body = proxy.request("GET", "/domains/", headers={"Accept-Language": "nl-NL,nl;q=0.9"})
    assert_our_unavailable_page(status, headers, hsts="max-age=63072000; includeSubDomains")
    assert '<html lang="nl">' in body and "Het paneel is zo terug" in body and "Je mail blijft werken" in body
    assert "nginx" not in body

    _status, _headers, body = proxy.request("GET", "/", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert '<html lang="en">' in body and "The panel will be back in a moment" in body
    # the panel's own language choice counts before the browser's
    cookie = {"Cookie": "django_language=en", "Accept-Language": "nl"}
    assert "The panel will be back in a moment" in proxy.request("GET", "/", headers=cookie)[2]
    assert '<html lang="nl">' in proxy.request("GET", "/")[2]  # nothing said: Dutch


def test_a_form_sent_during_a_restart_gets_the_page_not_an_error_of_nginx(proxy):
    status, headers, body = proxy.request(
        "POST",
        "/mailboxes/add/",
        headers={"Content-Type": "application/x-www-form-urlencoded", "Accept-Language": "nl"},
        body="local_part=info",
    )
    assert status == 503 and headers["retry-after"] == "30"
    assert "misschien niet opgeslagen" in body


def test_the_panel_back_is_the_panel_again(proxy):
    assert proxy.request("GET", "/")[0] == 503
    proxy.start_panel()
    try:
        assert proxy.request("GET", "/")[:3:2] == (200, "panel /")
    finally:
        proxy.stop_panel()
