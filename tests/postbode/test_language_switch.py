"""The language switch written in Python (`{% language_switch %}`) is the HTML of its template."""

import pytest
from django.template import RequestContext, engines
from django.test import RequestFactory
from django.utils.translation import override

from postbode.templatetags import postbode as tags

THROUGH_THE_TEMPLATE = '{% include "partials/language_switch.html" %}'
THROUGH_THE_TEMPLATE_WITH = (
    '{% include "partials/language_switch.html" with switch_class="nav-lang-switch" %}'
)
IN_PYTHON = "{% load postbode %}{% language_switch %}"
IN_PYTHON_WITH = '{% load postbode %}{% language_switch switch_class="nav-lang-switch" %}'


def rendered(source: str, request, *, csrf: bool) -> str:
    engine = engines["django"].engine
    context = RequestContext(request, {})
    # one token for both renderings (each context masks its own), or none, as a page without the processor's
    context["csrf_token"] = "vJ2x-token" if csrf else "NOTPROVIDED"
    return engine.from_string(source).render(context)


# Django's own `{% csrf_token %}` without a token (its deprecated `format_html("")`), in both renderings
@pytest.mark.filterwarnings("ignore:Calling format_html\\(\\) without passing args")
@pytest.mark.parametrize("path", ["/", "/mailboxes/?page=2&q=<jan>&x=\"'", "/accounts/login/?next=/a%20b/"])
@pytest.mark.parametrize("language", ["nl", "en"])
@pytest.mark.parametrize("csrf", [True, False])
def test_the_python_switch_is_the_templates_html(path, language, csrf):
    request = RequestFactory().get(path)
    with override(language):
        assert tags.language_switch_is_ours()
        assert rendered(IN_PYTHON, request, csrf=csrf) == rendered(THROUGH_THE_TEMPLATE, request, csrf=csrf)
        assert rendered(IN_PYTHON_WITH, request, csrf=csrf) == rendered(
            THROUGH_THE_TEMPLATE_WITH, request, csrf=csrf
        )
        html = rendered(IN_PYTHON_WITH, request, csrf=csrf)
    assert 'class="nav-lang-switch"' in html and f'value="{language}" class="link current"' in html
    assert "<jan>" not in html


def test_a_changed_switch_template_is_rendered_by_the_template_engine(monkeypatch):
    monkeypatch.setattr(tags, "LANGUAGE_SWITCH_SHA256", "0" * 64)
    request = RequestFactory().get("/")
    assert not tags.language_switch_is_ours()
    monkeypatch.setattr(tags, "conditional_escape", lambda value: "not the template")
    assert rendered(IN_PYTHON, request, csrf=True) == rendered(THROUGH_THE_TEMPLATE, request, csrf=True)
