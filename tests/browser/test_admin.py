"""The staff admin in Chromium under the panel's Content-Security-Policy (tenants/content_policy.py): Django's
admin pages, its autocomplete and raw-id widgets and our own admin templates, with the demo's data, refuse
nothing (no script or style written into a page, and none that a script set as an attribute)."""

import pytest
from django.conf import settings as django_settings
from django.contrib import admin
from django.core.management import call_command
from django.urls import reverse

from tenants.models import Membership
from tests.browser.test_layout import RECORD_CSP_VIOLATIONS
from tests.conftest import Client

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def admin_paths() -> list[str]:
    """The index, and for every registered model its list, its add page and the change page of its first row."""
    paths = ["/admin/"]
    for model in admin.site._registry:
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        paths += [reverse(f"{name}_changelist"), reverse(f"{name}_add")]  # every ModelAdmin has both URLs
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            paths.append(reverse(f"{name}_change", args=[first.pk]))
    return paths


def test_the_admin_refuses_nothing_under_the_policy(page, live_server, staff, settings, shot):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    call_command("demo", verbosity=0)
    client = Client()
    client.force_login(staff)
    session = client.cookies[django_settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": session.key, "value": session.value, "url": live_server.url}])
    page.add_init_script(RECORD_CSP_VIOLATIONS)
    refused, opened = {}, 0
    for path in admin_paths():
        response = page.goto(path)
        if response.status != 200:
            continue  # an add page a model does not have (403): nothing shown
        opened += 1
        if violations := page.evaluate("window.cspViolations"):
            refused[path] = violations
    assert opened >= 40 and not refused, (opened, refused)
    page.goto(reverse("admin:panel_membership_change", args=[Membership.objects.order_by("pk").first().pk]))
    page.locator(".select2-selection").first.click()  # the autocomplete opens its list
    page.locator(".select2-results__option").first.wait_for()
    assert page.evaluate("window.cspViolations") == []
    shot("admin-autocomplete")
