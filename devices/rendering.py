"""The calendars' part of a mail host's configuration: Radicale's rights file and the list of shared
collections, both read by `devices.radicale_rights` inside Radicale (re-read when they change, no restart).

Rights (Radicale's `from_file` format, as Modoboa's modoboa-radicale renders them):
- everyone logged in may list the root; a mailbox user (an address: relay credentials have no `@`) owns
  their principal `/<address>/` and the collections in it, nobody else's;
- for each domain whose shared collections are switched on, its mailbox users read `shared-<domain>/` and
  read and write its `calendar` and `contacts`, but may not delete them (`d`) or add others.
"""

import json
import re

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _

from mailaccounts.models import Domain
from mailhosts.models import MailHost
from mailhosts.rendering import HostConfig, RenderedFile, is_safe_token

RADICALE_DIR = "radicale"
RIGHTS_FILE = f"{RADICALE_DIR}/rights"
SHARED_FILE = f"{RADICALE_DIR}/shared-collections.json"
SHARED_PREFIX = "shared-"
SHARED_COLLECTIONS = {
    "calendar": {"tag": "VCALENDAR", "C:supported-calendar-component-set": "VEVENT,VTODO"},
    "contacts": {"tag": "VADDRESSBOOK"},
}
MAILBOX_USER = r"[^@/\s]+@[^@/\s]+"

BASE_RIGHTS = f"""# Rendered by Postbode: Radicale's rights (devices/rendering.py). Do not edit: the next apply replaces it.
[root]
user: .+
collection:
permissions: R

[principal]
user: {MAILBOX_USER}
collection: {{user}}
permissions: RW

[own-collections]
user: {MAILBOX_USER}
collection: {{user}}/[^/]+
permissions: rw
"""


def shared_domains(host: MailHost) -> list[tuple[str, str]]:
    """(ASCII name, customer's language) of the host's domains with shared collections switched on."""
    rows = Domain.objects.filter(mailhost=host, shared_collections__is_enabled=True).values_list(
        "name", "customer__language"
    )
    return sorted((name, language) for name, language in rows if is_safe_token(name))


def shared_path(domain_name: str) -> str:
    return f"{SHARED_PREFIX}{domain_name}"


def rights_for(domain_names: list[str]) -> str:
    sections = [BASE_RIGHTS]
    for number, name in enumerate(domain_names, start=1):
        users = rf"[^@/\s]+@{re.escape(name)}"
        collection = re.escape(shared_path(name))
        names = "|".join(SHARED_COLLECTIONS)
        sections.append(
            f"\n[shared-{number}-root]\nuser: {users}\ncollection: {collection}\npermissions: R\n"
            f"\n[shared-{number}]\nuser: {users}\ncollection: {collection}/({names})\npermissions: rwd\n"
        )
    return "".join(sections)


def display_names(language: str) -> dict[str, str]:
    with translation.override(language or settings.LANGUAGE_CODE):
        return {"calendar": str(_("Company calendar")), "contacts": str(_("Company contacts"))}


def shared_collections_for(domains: list[tuple[str, str]]) -> dict:
    """What `radicale_rights` makes sure exists: path -> Radicale properties (names in the customer's
    language; set once, when Radicale creates the collection)."""
    wanted = {}
    for name, language in domains:
        names = display_names(language)
        for collection, props in SHARED_COLLECTIONS.items():
            wanted[f"{shared_path(name)}/{collection}"] = {
                **props,
                "D:displayname": f"{names[collection]} {name}",
            }
    return wanted


def render_radicale(host: MailHost) -> HostConfig:
    domains = shared_domains(host)
    shared = json.dumps(shared_collections_for(domains), indent=1, sort_keys=True)
    return HostConfig(
        files={
            RIGHTS_FILE: RenderedFile(rights_for([name for name, _language in domains]).encode()),
            SHARED_FILE: RenderedFile(shared.encode() + b"\n"),
        }
    )
