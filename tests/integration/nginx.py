"""The real nginx on loopback, running one of deploy/nginx's sites for a test, and a client for it."""

import contextlib
import http.client
import os
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from tests.conftest import require_service

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def replaced(text: str, replacements: dict[str, str]) -> str:
    """The production file with only its names, ports and paths changed: each must be there to be changed."""
    for old, new in replacements.items():
        assert old in text, f"the deploy file no longer has {old!r}"
        text = text.replace(old, new)
    return text


@contextlib.contextmanager
def running_nginx(folder: Path, site: str, port: int) -> Iterator[None]:
    """nginx with `site` (the text of a sites-available file) in its http block, until the block ends; it
    listens on `port` before this yields."""
    require_service(bool(shutil.which("nginx")), "nginx")
    (folder / "site.conf").write_text(site)
    temp = folder / "nginx-temp"
    temp.mkdir()
    (folder / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")  # workers read the test's private folder
        + f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\nworker_processes 1;\nevents {{}}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  access_log off;\n"
        f"  client_body_temp_path {temp}/body;\n  proxy_temp_path {temp}/proxy;\n"
        f"  fastcgi_temp_path {temp}/fastcgi;\n  uwsgi_temp_path {temp}/uwsgi;\n  scgi_temp_path {temp}/scgi;\n"
        f"  include {folder}/site.conf;\n}}\n"
    )
    command = ["nginx", "-p", str(folder), "-c", str(folder / "nginx.conf"), "-e", str(folder / "error.log")]
    check = subprocess.run([*command, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    server = subprocess.Popen([*command, "-g", "daemon off;"], stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None, server.stderr.read()
                assert time.monotonic() < deadline, "nginx did not start listening"
                time.sleep(0.05)
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


def https_request(
    port: int, ca: Path, host: str, method: str, path: str, *, headers=None, body=None
) -> tuple[int, dict, str]:
    context = ssl.create_default_context(cafile=str(ca))
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
    try:
        connection.request(method, path, body=body, headers={"Host": host, **(headers or {})})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        connection.close()


def assert_our_unavailable_page(status: int, headers: dict, hsts: str) -> None:
    """The answer nginx gives with our page while the program behind it does not answer."""
    assert status == 503
    assert headers["content-type"].startswith("text/html")
    assert headers["retry-after"] == "30"
    assert headers["cache-control"] == "no-store"
    assert headers["strict-transport-security"] == hsts
    assert headers["content-security-policy"].startswith("default-src 'none'")
