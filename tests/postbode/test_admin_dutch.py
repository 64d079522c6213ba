"""The staff admin in Dutch: every registered ModelAdmin's names, columns, filters, actions, form labels and help
texts, and its pages with the demo's data, say nothing in Dutch that they say in English, unless the Dutch
catalogue keeps that word on purpose ("Status", "Alias")."""

import re
from pathlib import Path

import django
import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.contrib import admin
from django.contrib.admin.utils import (
    flatten_fieldsets,
    get_fields_from_path,
    help_text_for_field,
    label_for_field,
)
from django.core.management import call_command
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real

from postbode.management.commands.demo import ADMIN_EMAIL
from tenants.models import User
from tests.conftest import STAFF_TOTP_SECRET
from tests.dutch_text import english_left
from tests.postbode.test_dutch_pages import FORMAL_YOU
from tests.test_translations import Entry, parse_po


def admin_request(user):
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def field_texts(model_admin, request, obj) -> list[tuple[str, str]]:
    """(where, text) of a change form: fieldset titles, every field's label and help text, read-only ones too."""
    texts = []
    fieldsets = model_admin.get_fieldsets(request, obj)
    texts += [("fieldset", str(title)) for title, _ in fieldsets if title]
    texts += [("fieldset text", str(opts["description"])) for _, opts in fieldsets if opts.get("description")]
    form = model_admin.get_form(request, obj)
    readonly = set(model_admin.get_readonly_fields(request, obj))
    for name in flatten_fieldsets(fieldsets):
        if name in form.base_fields and name not in readonly:
            field = form.base_fields[name]
            texts.append((f"label of {name}", str(field.label)))
            if field.help_text:
                texts.append((f"help of {name}", str(field.help_text)))
        else:
            texts.append((f"label of {name}", str(label_for_field(name, model_admin.model, model_admin))))
            if help_text := help_text_for_field(name, model_admin.model):
                texts.append((f"help of {name}", str(help_text)))
    return texts


def list_texts(model_admin, request) -> list[tuple[str, str]]:
    """(where, text) of a change list: columns, filters and actions."""
    model = model_admin.model
    texts = [
        (f"column {name}", str(label_for_field(name, model, model_admin)))
        for name in model_admin.get_list_display(request)
        if name != "__str__" and name != "action_checkbox"
    ]
    for list_filter in model_admin.get_list_filter(request):
        if isinstance(list_filter, str | tuple):
            path = list_filter if isinstance(list_filter, str) else list_filter[0]
            texts.append((f"filter {path}", str(get_fields_from_path(model, path)[-1].verbose_name)))
        else:
            texts.append((f"filter {list_filter.__name__}", str(list_filter.title)))
    texts += [(f"action {value}", str(label)) for value, label in model_admin.get_action_choices(request, [])]
    return texts


def admin_texts(user, language: str) -> dict[str, list[tuple[str, str]]]:
    """Everything every registered ModelAdmin says, in one language, by model."""
    request = admin_request(user)
    texts = {}
    with translation.override(language):
        for model, model_admin in admin.site._registry.items():
            opts = model._meta
            found = [("name", str(opts.verbose_name)), ("plural name", str(opts.verbose_name_plural))]
            found += [("app", str(opts.app_config.verbose_name))]
            found += list_texts(model_admin, request)
            found += field_texts(model_admin, request, None)
            if obj := model._default_manager.first():
                found += field_texts(model_admin, request, obj)
            texts[opts.label] = found
    return texts


def kept_in_dutch(text: str) -> bool:
    """The Dutch catalogue translates this text to itself ("Status", "Alias"): the same word on purpose."""
    catalog = trans_real.translation("nl")._catalog
    return any(catalog.get(variant) == variant for variant in (text, text[:1].lower() + text[1:]))


def untranslated(dutch: dict, english: dict) -> list[str]:
    left = []
    for model, texts in dutch.items():
        for (where, nl), (_, en) in zip(texts, english[model], strict=True):
            if nl == en and any(c.isalpha() for c in nl) and not kept_in_dutch(nl):
                left.append(f"{model} {where}: {nl!r}")
    return left


def test_every_registered_admin_speaks_dutch(db, admin_user):
    call_command("demo", verbosity=0)  # change forms of objects, too
    left = untranslated(admin_texts(admin_user, "nl"), admin_texts(admin_user, "en"))
    assert not left, "English in the Dutch admin:\n" + "\n".join(left)


def test_the_admin_check_finds_an_untranslated_label():
    english = {"x.Thing": [("label of host", "host"), ("label of status", "Status")]}
    dutch = {"x.Thing": [("label of host", "host"), ("label of status", "Status")]}
    assert untranslated(dutch, english) == ["x.Thing label of host: 'host'"]


@pytest.fixture
def staff_client(db, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("demo", verbosity=0)
    admin = User.objects.get(email=ADMIN_EMAIL)
    if not Authenticator.objects.filter(user=admin, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(
            admin, STAFF_TOTP_SECRET
        )  # staff have two-factor (issue 15), or the admin sends them to set it up
    client = Client()
    client.force_login(admin)
    return client


def admin_pages(user) -> list[str]:
    """The admin's index, and every registered model's change list, add form and a change form."""
    request = admin_request(user)
    pages = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        info = (model._meta.app_label, model._meta.model_name)
        pages.append(reverse("admin:{}_{}_changelist".format(*info)))
        if model_admin.has_add_permission(request):
            pages.append(reverse("admin:{}_{}_add".format(*info)))
        if obj := model._default_manager.first():
            pages.append(reverse("admin:{}_{}_change".format(*info), args=[obj.pk]))
    return pages


# Django stores permission names in English when it migrates ("Can view mailbox"); the user and group forms
# list them as they are.
PERMISSION_NAME = re.compile(r" \| Can (add|change|delete|view) ")


def test_every_admin_page_in_dutch_has_no_sentence_of_the_english_page(staff_client):
    left = {}
    for path in admin_pages(User.objects.get(email=ADMIN_EMAIL)):
        dutch = staff_client.get(path, headers={"accept-language": "nl"})
        english = staff_client.get(path, headers={"accept-language": "en"})
        assert dutch.status_code == english.status_code == 200, path
        found = english_left(dutch.content.decode(), english.content.decode())
        if found := [text for text in found if not PERMISSION_NAME.search(text)]:
            left[path] = found
    assert not left, left


# Django's own catalogues whose texts the staff admin (and a customer's CSRF failure or broken form) can show.
DJANGO_DIR = Path(django.__file__).parent
DJANGO_CATALOGUES = [
    ("django", DJANGO_DIR / "contrib" / "admin" / "locale"),
    ("django", DJANGO_DIR / "contrib" / "auth" / "locale"),
    ("django", DJANGO_DIR / "conf" / "locale"),
    ("djangojs", DJANGO_DIR / "contrib" / "admin" / "locale"),
]


def formal_dutch_of_django() -> list[tuple[str, Entry]]:
    """(domain, entry) of every text Django's own Dutch says with "u", "uw" or "alstublieft"."""
    found = []
    for domain, folder in DJANGO_CATALOGUES:
        _header, entries = parse_po(folder / "nl" / "LC_MESSAGES" / f"{domain}.po")
        found += [
            (domain, entry)
            for entry in entries
            if any(text and FORMAL_YOU.search(text) for text in entry.translations)
        ]
    return found


def test_djangos_own_texts_say_je_in_dutch():
    """Django's Dutch says "Weet u het zeker?"; the admin's staff, like the panel's customers, read "je". Reads
    Django's own catalogues, so a Django upgrade that brings a new formal text fails here."""
    formal = formal_dutch_of_django()
    assert len(formal) >= 30  # the check reads what it should
    still = []
    for domain, entry in formal:
        # the django domain is every installed app's and ours (LOCALE_PATHS first); the script texts' is the
        # admin's and ours, as the admin's `jsi18n` view reads them
        folders = [folder for d, folder in DJANGO_CATALOGUES if d == domain] if domain == "djangojs" else None
        catalogue = trans_real.DjangoTranslation("nl", domain=domain, localedirs=folders)
        if entry.msgid_plural:
            texts = [catalogue.ngettext(entry.msgid, entry.msgid_plural, n) for n in (1, 2)]
        else:
            texts = [catalogue.gettext(entry.msgid)]
        still += [f"{domain}: {text}" for text in texts if FORMAL_YOU.search(text)]
    assert not still, "\n".join(still)


def test_the_admins_scripts_get_their_texts_in_informal_dutch(staff_client):
    catalogue = staff_client.get(reverse("admin:jsi18n"), headers={"accept-language": "nl"}).content.decode()
    assert "Je hebt een actie gekozen" in catalogue and "je loopt %s uur voor" in catalogue
    assert not re.search(r"\b([Uu]w?)\b [a-z]", catalogue)
