"""deploy/nginx/postbode-webmail.conf and its snippet, run by the real nginx on loopback in front of a stand-in
for Roundcube's PHP-FPM (FastCGI on a unix socket): while PHP-FPM answers, Roundcube's answers pass unchanged,
its own errors included; while it does not (a restart), the visitor gets the page the apply rendered, in their
language, with 503 and Retry-After, instead of nginx's own 502."""

import socket
import struct
import threading
from pathlib import Path

import pytest

from mailhosts.apply import apply_host
from mailhosts.stack import make_certificates
from tests.integration.nginx import (
    ROOT,
    assert_our_unavailable_page,
    free_port,
    https_request,
    replaced,
    running_nginx,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db]

HOST = "webmail.postbode.nl"
BEGIN, END, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6


def fastcgi_params(data: bytes) -> dict[str, str]:
    params, at = {}, 0
    while at < len(data):
        lengths = []
        for _ in range(2):
            length = data[at]
            if length >> 7:
                length = struct.unpack(">I", data[at : at + 4])[0] & 0x7FFFFFFF
                at += 4
            else:
                at += 1
            lengths.append(length)
        name, value = data[at : at + lengths[0]], data[at + lengths[0] : at + lengths[0] + lengths[1]]
        params[name.decode()] = value.decode()
        at += lengths[0] + lengths[1]
    return params


def record(kind: int, request_id: int, content: bytes) -> bytes:
    return struct.pack(">BBHHBB", 1, kind, request_id, len(content), 0, 0) + content


class StandInPhpFpm:
    """Answers each request as Roundcube would, from the request's path: its inbox, or its own 503 when its
    database is down (`/?db=down`)."""

    def __init__(self, path: Path):
        self.path = path
        self.listener = None

    def start(self):
        self.listener = socket.socket(socket.AF_UNIX)
        self.listener.bind(str(self.path))
        self.listener.listen()
        threading.Thread(target=self.serve, args=(self.listener,), daemon=True).start()

    def stop(self):
        self.listener.close()
        self.path.unlink()

    def serve(self, listener):
        while True:
            try:
                connection, _address = listener.accept()
            except OSError:
                return
            with connection:
                self.answer(connection)

    def answer(self, connection):
        stream = connection.makefile("rb")
        params, request_id = b"", 1
        while True:
            _version, kind, request_id, length, padding, _reserved = struct.unpack(">BBHHBB", stream.read(8))
            content = stream.read(length)
            stream.read(padding)
            if kind == PARAMS:
                params += content
            if kind == STDIN and not content:
                break
        uri = fastcgi_params(params).get("REQUEST_URI", "")
        if "db=down" in uri:
            answer = (
                b"Status: 503 Service Unavailable\r\nContent-Type: text/plain\r\n\r\nroundcube: database down"
            )
        else:
            answer = b"Content-Type: text/html\r\n\r\nroundcube inbox"
        connection.sendall(
            record(STDOUT, request_id, answer)
            + record(STDOUT, request_id, b"")
            + record(END, request_id, struct.pack(">IB3x", 0, 0))
        )


@pytest.fixture
def webmail(tmp_path, domain):
    host = domain.mailhost
    apply_host(host.pk, force=True)  # the apply renders the pages into the host's webmail/unavailable/
    make_certificates(tmp_path, HOST)
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    public = tmp_path / "public_html"
    public.mkdir()
    (public / "index.php").write_text("<?php // stands for Roundcube's entry point\n")
    (tmp_path / "fastcgi.conf").symlink_to("/etc/nginx/fastcgi.conf")  # Debian's, which its snippet includes
    socket_path = tmp_path / "php-fpm.sock"
    https_port, http_port = free_port(), free_port()
    nginx = ROOT / "deploy" / "nginx"
    snippet = replaced(
        (nginx / "snippets" / "postbode-webmail.conf").read_text(),
        {
            "root /var/lib/postbode-webmail/public_html;": f"root {public};",
            "alias /etc/postbode-mail/webmail/unavailable/;": f"alias {host.config_dir}/webmail/unavailable/;",
            "include snippets/fastcgi-php.conf;": "include /etc/nginx/snippets/fastcgi-php.conf;",
            "unix:/run/php/postbode-webmail.sock": f"unix:{socket_path}",
        },
    )
    (tmp_path / "snippet.conf").write_text(snippet)
    site = replaced(
        (nginx / "postbode-webmail.conf").read_text(),
        {
            "listen 80;": f"listen 127.0.0.1:{http_port};",
            "listen [::]:80;": "",
            "listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n    server_name webmail.postbode.nl;": (
                f"listen 127.0.0.1:{https_port} ssl http2;\n    server_name webmail.postbode.nl;"
            ),
            "listen 443 ssl http2;\n    listen [::]:443 ssl http2;\n    server_name ~^webmail": (
                f"listen 127.0.0.1:{https_port} ssl http2;\n    server_name ~^webmail"
            ),
            "/etc/letsencrypt/live/webmail.postbode.nl/fullchain.pem": str(cert),
            "/etc/letsencrypt/live/webmail.postbode.nl/privkey.pem": str(key),
            "root /var/www/letsencrypt;": f"root {tmp_path};",
            "/etc/nginx/snippets/postbode-webmail.conf": str(tmp_path / "snippet.conf"),
        },
    )
    with running_nginx(tmp_path, site, https_port):
        yield WebmailUnderTest(https_port, tmp_path / "ca.pem", StandInPhpFpm(socket_path))


class WebmailUnderTest:
    def __init__(self, port: int, ca: Path, php: StandInPhpFpm):
        self.port, self.ca, self.php = port, ca, php

    def get(self, path: str, **headers) -> tuple[int, dict, str]:
        return https_request(self.port, self.ca, HOST, "GET", path, headers=headers)


def test_while_php_fpm_answers_roundcubes_answers_pass_unchanged(webmail):
    webmail.php.start()
    try:
        status, headers, body = webmail.get("/?_task=mail")
        assert (status, body) == (200, "roundcube inbox")
        assert headers["strict-transport-security"] == "max-age=63072000"
        # Roundcube's own error is its own, not our page
        assert webmail.get("/?db=down")[::2] == (503, "roundcube: database down")
    finally:
        webmail.php.stop()


def test_while_php_fpm_restarts_visitors_get_our_page_in_their_language(webmail):
    status, headers, body = webmail.get("/?_task=mail", **{"Accept-Language": "nl-NL,nl;q=0.9"})
    assert_our_unavailable_page(status, headers, hsts="max-age=63072000")
    assert (
        '<html lang="nl">' in body and "Webmail is zo terug" in body and "Je mail komt gewoon binnen" in body
    )
    assert "nginx" not in body

    body = webmail.get("/", **{"Accept-Language": "en-GB,en;q=0.8"})[2]
    assert '<html lang="en">' in body and "Webmail will be back in a moment" in body
    assert '<html lang="nl">' in webmail.get("/")[2]  # nothing said: Dutch


def test_webmail_back_is_roundcube_again(webmail):
    assert webmail.get("/")[0] == 503
    webmail.php.start()
    try:
        assert webmail.get("/")[::2] == (200, "roundcube inbox")
    finally:
        webmail.php.stop()
