"""The panel's form renderer writes Django's small form templates in Python: the HTML must be the templates'."""

import pytest
from django import forms
from django.forms.renderers import TemplatesSetting
from django.utils.safestring import mark_safe
from django.utils.translation import override

from postbode.forms import FAST, PanelFormRenderer


class ThroughTemplates(TemplatesSetting):
    """The same renderer, every form template through the template engine."""

    form_template_name = PanelFormRenderer.form_template_name
    field_template_name = PanelFormRenderer.field_template_name


class OwnOptionRadio(forms.RadioSelect):
    """Options through a template of its own: rendered by the template engine, as the renderer cannot know it."""

    option_template_name = "django/forms/widgets/input_option.html"


class Everything(forms.Form):
    name = forms.CharField(label="Naam & <code>", max_length=20, help_text="help")
    since = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date", "data-x": 'a"b'}))
    count = forms.IntegerField(required=False, initial=12345)
    secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=True))
    agree = forms.BooleanField(required=False)
    hidden = forms.CharField(required=False, widget=forms.HiddenInput)
    status = forms.ChoiceField(
        required=False,
        choices=[("", "Any"), ("a&b", "A & B"), ("Group", [("x", "X"), ("y", mark_safe("<b>Y</b>"))])],
    )
    several = forms.MultipleChoiceField(required=False, choices=[(1, "one"), (2, "two")])
    email = forms.EmailField(required=False, disabled=True)
    kinds = forms.MultipleChoiceField(
        required=False, choices=[("a", "A"), ("b&", "B & <b>")], widget=forms.CheckboxSelectMultiple
    )
    note = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3, "placeholder": 'say "hi"'})
    )
    size = forms.ChoiceField(
        required=False,
        widget=forms.RadioSelect(attrs={"class": "inline"}),
        choices=[("s", "S & m"), ("Group <g>", [("l", "L"), ("xl", mark_safe("<b>XL</b>"))])],
    )
    odd = forms.ChoiceField(required=False, widget=OwnOptionRadio, choices=[("1", "one")])

    def clean(self):
        if self.cleaned_data.get("name") == "boom":
            raise forms.ValidationError(["Not <this> one", mark_safe("<b>nor</b> that")])
        return self.cleaned_data


def rendered(form_data, renderer):
    form = Everything(form_data, renderer=renderer)
    fields = [str(field.as_field_group()) + str(field.label_tag()) + str(field.errors) for field in form]
    return [*fields, str(form.non_field_errors())]


@pytest.mark.parametrize(
    "data",
    [
        None,
        {"name": "x<y>", "since": "2026-12-06", "count": "7", "secret": "p", "agree": "on", "status": "a&b"},
        {"name": "", "since": "garbage", "status": "y", "several": ["1", "2"], "hidden": '"q"'},
        {"note": 'a<b>\n"c" &amp;', "size": "xl", "kinds": ["a", "b&"], "odd": "1"},
        {"note": "0", "size": "nope", "kinds": ["zz"]},
        {"name": "boom", "count": "x" * 30},
    ],
)
@pytest.mark.parametrize("language", ["nl", "en"])
def test_the_python_rendering_is_the_templates_html(data, language):
    with override(language):
        assert rendered(data, PanelFormRenderer()) == rendered(data, ThroughTemplates())


def test_every_fast_template_is_djangos_own_here():
    renderer = PanelFormRenderer()
    assert all(renderer._is_own(name) for name in FAST)


class FieldCases(forms.Form):
    plan = forms.ChoiceField(choices=[("basis", "Basis"), ("pro", "Professional")], widget=forms.RadioSelect)
    agree = forms.BooleanField(required=False, label="Ja & <nee>", help_text=mark_safe("<b>safe</b> help"))
    note = forms.CharField(required=False, help_text="a < b")


@pytest.mark.parametrize("auto_id", ["id_%s", False])
@pytest.mark.parametrize("data", [None, {"plan": "nope", "agree": "on", "note": "x"}])
def test_the_field_template_in_python_is_the_templates_html(auto_id, data):
    """`{{ field.as_field_group }}` through `_field`: the plan options' class, a checkbox in its label, help
    text with and without an id, errors."""

    def fields(renderer):
        form = FieldCases(data, auto_id=auto_id, renderer=renderer)
        return [str(field.as_field_group()) for field in form] + [str(form)]

    assert PanelFormRenderer().field_is_ours()
    assert fields(PanelFormRenderer()) == fields(ThroughTemplates())


def test_a_changed_field_template_is_rendered_by_the_template_engine(monkeypatch):
    """Once templates/forms/field.html no longer has the text `_field` writes, the template is rendered."""
    monkeypatch.setattr("postbode.forms.FIELD_TEMPLATE_SHA256", "0" * 64)
    renderer = PanelFormRenderer()
    assert not renderer.field_is_ours()
    monkeypatch.setattr("postbode.forms._field", lambda context: "not the template")
    form = FieldCases(None, renderer=renderer)
    assert str(form["note"].as_field_group()).startswith('<div class="field">')
