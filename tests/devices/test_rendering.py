"""What the calendars render for a mail host: Radicale's rights and the shared collections to create."""

import configparser
import json
import re

import pytest

from devices import services
from devices.rendering import RIGHTS_FILE, SHARED_FILE, render_radicale
from mailhosts.rendering import render_host
from tenants.audit import Actor

pytestmark = pytest.mark.django_db


def rights_of(host) -> configparser.ConfigParser:
    parser = configparser.ConfigParser()
    parser.read_string(render_radicale(host).files[RIGHTS_FILE].content.decode())
    return parser


def allowed(parser, user: str, path: str) -> str:
    """Radicale's from_file matching: the first section whose user and collection match."""
    for section in parser.sections():
        match = re.fullmatch(parser[section]["user"], user)
        if not match:
            continue
        collection = parser[section]["collection"].format(*match.groups(), user=re.escape(user))
        if re.fullmatch(collection, path):
            return parser[section]["permissions"]
    return ""


def test_without_shared_collections_each_mailbox_has_only_its_own(domain):
    parser = rights_of(domain.mailhost)
    assert allowed(parser, "jan@bakkerij.example", "jan@bakkerij.example") == "RW"
    assert allowed(parser, "jan@bakkerij.example", "jan@bakkerij.example/calendar") == "rw"
    assert allowed(parser, "piet@bakkerij.example", "jan@bakkerij.example/calendar") == ""
    assert allowed(parser, "jan@bakkerij.example", "shared-bakkerij.example/calendar") == ""
    assert allowed(parser, "relay_abc123", "relay_abc123") == ""  # relay credentials: no principal
    assert json.loads(render_radicale(domain.mailhost).files[SHARED_FILE].content) == {}


def test_switched_on_shared_collections_are_for_that_domain_only(domain, other_domain):
    services.set_shared_collections(actor=Actor.system(), domain=domain, enabled=True)
    parser = rights_of(domain.mailhost)
    assert allowed(parser, "piet@bakkerij.example", "shared-bakkerij.example/calendar") == "rwd"
    assert allowed(parser, "piet@bakkerij.example", "shared-bakkerij.example/contacts") == "rwd"
    assert allowed(parser, "piet@bakkerij.example", "shared-bakkerij.example/other") == ""
    assert allowed(parser, "kees@concurrent.example", "shared-bakkerij.example/calendar") == ""
    assert allowed(parser, "kees@bakkerijXexample", "shared-bakkerij.example/calendar") == ""  # dot escaped
    wanted = json.loads(render_radicale(domain.mailhost).files[SHARED_FILE].content)
    assert sorted(wanted) == ["shared-bakkerij.example/calendar", "shared-bakkerij.example/contacts"]
    assert wanted["shared-bakkerij.example/calendar"]["tag"] == "VCALENDAR"


def test_switching_off_takes_the_rights_away(domain):
    services.set_shared_collections(actor=Actor.system(), domain=domain, enabled=True)
    services.set_shared_collections(actor=Actor.system(), domain=domain, enabled=False)
    assert (
        allowed(rights_of(domain.mailhost), "piet@bakkerij.example", "shared-bakkerij.example/calendar") == ""
    )


def test_the_radicale_files_are_part_of_the_host_configuration(domain):
    assert {RIGHTS_FILE, SHARED_FILE} <= set(render_host(domain.mailhost).files)


def test_radicale_rights_backend_reloads_a_changed_file_and_makes_shared_collections(tmp_path):
    """The backend Radicale loads, driven directly with Radicale's own configuration."""
    from radicale import config

    from devices import radicale_rights
    from devices.rendering import rights_for, shared_collections_for

    (tmp_path / "rights").write_text(rights_for([]))
    configuration = config.load()
    configuration.update(
        {
            "rights": {"type": "devices.radicale_rights", "file": str(tmp_path / "rights")},
            "storage": {"filesystem_folder": str(tmp_path / "collections")},
        },
        "test",
        privileged=True,
    )
    rights = radicale_rights.Rights(configuration)
    assert rights.authorization("jan@bakkerij.example", set(), "/shared-bakkerij.example/calendar/") == ""
    (tmp_path / "rights").write_text(rights_for(["bakkerij.example"]))
    (tmp_path / "shared-collections.json").write_text(
        json.dumps(shared_collections_for([("bakkerij.example", "nl")]))
    )
    rights.refresh()
    assert rights.authorization("jan@bakkerij.example", set(), "/shared-bakkerij.example/calendar/") == "rwd"
    props = tmp_path / "collections/collection-root/shared-bakkerij.example/calendar/.Radicale.props"
    assert json.loads(props.read_text())["D:displayname"] == "Bedrijfsagenda bakkerij.example"
    (tmp_path / "rights").write_text("[broken")  # a broken file keeps the rights it replaced
    rights.refresh()
    assert rights.authorization("jan@bakkerij.example", set(), "/shared-bakkerij.example/calendar/") == "rwd"
