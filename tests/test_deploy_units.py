"""deploy/: what the production units run is what the code needs."""

import configparser
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read_string((ROOT / "deploy" / "systemd" / name).read_text().replace("\\\n", " "))
    return parser


def test_the_host_worker_compiles_the_relay_parser_before_it_ingests():
    """The host's worker reads its Postfix log into the relay log (relay.tasks.ingest_source runs on the host's
    queue): without the build step production ran the pure modules, at about twice the CPU."""
    worker = unit("postbode-worker@.service")["Service"]
    assert "-Q mailhost.%i" in worker["ExecStart"]
    assert worker["ExecStartPre"] == "/opt/postbode/.venv/bin/python -m relay.build_compiled"


def test_the_build_extra_has_what_the_relay_build_imports():
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {requirement.split(">")[0].split("=")[0].split("[")[0] for requirement in extras["build"]}
    source = (ROOT / "relay" / "build_compiled.py").read_text()
    assert "from mypyc.build import mypycify" in source and "from setuptools import" in source
    assert {"mypy", "setuptools"} <= names  # mypyc is part of mypy


def test_the_web_unit_writes_the_pages_nginx_shows_while_it_restarts():
    """`manage.py unavailable_pages` before Gunicorn starts: each deploy's code, translations and support line
    (deploy/nginx/postbode-panel.conf shows them while the panel does not answer)."""
    lines = (ROOT / "deploy" / "systemd" / "postbode-web.service").read_text().splitlines()
    before = [line.partition("=")[2] for line in lines if line.startswith("ExecStartPre=")]
    assert before == [
        "/opt/postbode/.venv/bin/python manage.py collectstatic --noinput --verbosity 0",
        "/opt/postbode/.venv/bin/python manage.py unavailable_pages --verbosity 0",
    ]
    assert (
        "WorkingDirectory=/opt/postbode" in lines
    )  # STATIC_ROOT: /opt/postbode/staticfiles, where nginx looks
