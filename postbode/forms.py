"""The one way a form is shown in the panel: `FORM_RENDERER` points here.

`{{ form }}` renders `templates/forms/form.html` (the form's own errors, then every field) and
`{{ form.field.as_field_group }}` renders `templates/forms/field.html` (label, input, help text, errors), for a
page that lays its fields out itself, after `{% include "forms/errors.html" %}`. Widgets come from the same
template engine (`TemplatesSetting`), so a project template could override one of Django's.

Django's own small templates for inputs, text areas, selects, radio buttons and check boxes, their options,
labels and error lists are written here in Python instead, with the very same HTML: through the template
engine they cost a template render (and an include or two) per field and per option, most of a filter form's
time. A template of that name that
a project or app overrides is still rendered as a template (checked once per name). Our own field template is
written here too, for exactly the text it has now: once `templates/forms/field.html` changes, the template
is rendered again until `_field` and `FIELD_TEMPLATE_SHA256` say the same as the new text.
"""

import functools
import hashlib
from pathlib import Path

import django
from django.forms.renderers import TemplatesSetting
from django.template.loader import get_template
from django.utils.formats import localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe
from django.utils.timezone import template_localtime

DJANGO_FORM_TEMPLATES = Path(django.__file__).parent / "forms" / "templates"
INPUT_TEMPLATES = (
    "checkbox color date datetime email file hidden input number password search tel text time url"
).split()


def _text(value) -> str:
    """`{{ value }}` in an autoescaping template."""
    value = localize(template_localtime(value))
    if not issubclass(type(value), str):
        value = str(value)
    return conditional_escape(value)


def _string(value) -> str:
    """`{{ value|stringformat:'s' }}` in an autoescaping template."""
    if isinstance(value, tuple):
        value = str(value)
    text = "%s" % value  # noqa: UP031 (the filter's own formatting)
    return conditional_escape(mark_safe(text) if isinstance(value, SafeData) else text)  # noqa: S308


def _attrs(attrs) -> str:
    """django/forms/widgets/attrs.html and django/forms/attrs.html."""
    return "".join(
        f" {_text(name)}" if value is True else f' {_text(name)}="{_string(value)}"'
        for name, value in (attrs or {}).items()  # none: the template's loop over nothing
        if value is not False
    )


def _input(context) -> str:
    widget = context["widget"]
    value = "" if widget["value"] == None else f' value="{_string(widget["value"])}"'  # noqa: E711 (as the template)
    return f'<input type="{_text(widget["type"])}" name="{_text(widget["name"])}"{value}{_attrs(widget["attrs"])}>'


def _option(option) -> str:
    return f'<option value="{_string(option["value"])}"{_attrs(option["attrs"])}>{_text(option["label"])}</option>\n'


def _select(context) -> str | None:
    widget = context["widget"]
    html = [f'<select name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>']
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            html.append(f'\n  <optgroup label="{_text(group_name)}">')
        for option in group_choices:
            if option["template_name"] != "django/forms/widgets/select_option.html":
                return None
            html.append("\n  " + _option(option))
        if group_name:
            html.append("\n  </optgroup>")
    html.append("\n</select>")
    return "".join(html)


def _textarea(context) -> str:
    widget = context["widget"]
    value = _text(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_text(widget["name"])}"{_attrs(widget["attrs"])}>\n{value}</textarea>'


OPTION_TEMPLATES = ("django/forms/widgets/radio_option.html", "django/forms/widgets/checkbox_option.html")


def _option_input(option) -> str:
    """radio_option.html or checkbox_option.html as an include writes it: input_option.html (input.html's line
    in its label), each file's own last line break after it."""
    html = _input({"widget": option}) + "\n"
    if option["wrap_label"]:
        label_id = option["attrs"].get("id")
        label_for = f' for="{_text(label_id)}"' if label_id else ""
        html = f"<label{label_for}>{html} {_text(option['label'])}</label>"
    return html + "\n\n"


def _multiple_input(context) -> str | None:
    """django/forms/widgets/multiple_input.html (radio buttons and check boxes), its options included."""
    widget = context["widget"]
    attrs = widget["attrs"]
    html = ["<div"]
    if attrs.get("id"):
        html.append(f' id="{_text(attrs["id"])}"')
    if attrs.get("class"):
        html.append(f' class="{_text(attrs["class"])}"')
    html.append(">")
    for group_name, group_choices, _index in widget["optgroups"]:
        if group_name:
            html.append(f"\n  <div><label>{_text(group_name)}</label>")
        for option in group_choices:
            if option["template_name"] not in OPTION_TEMPLATES:
                return None
            html.append(f"<div>\n    {_option_input(option)}</div>")
        if group_name:
            html.append("\n  </div>")
    html.append("\n</div>")
    return "".join(html)


def _label(context) -> str:
    if not context["use_tag"]:
        return _text(context["label"])
    tag = _text(context["tag"])
    return f"<{tag}{_attrs(context['attrs'])}>{_text(context['label'])}</{tag}>"


def _errors(context) -> str:
    """django/forms/errors/list/default.html, which includes ul.html."""
    errors = context["errors"]
    if not errors:
        return ""
    field_id = getattr(errors, "field_id", None)
    id_attr = f' id="{_text(field_id)}_error"' if field_id else ""
    items = "".join(f"<li>{_text(error)}</li>" for error in errors)
    return f'<ul class="{_text(context["error_class"])}"{id_attr}>{items}</ul>'


def _field(context) -> str:
    """templates/forms/field.html (stripped, as Django's renderers strip what a template renders)."""
    field = context["field"]
    checkbox = field.widget_type == "checkbox"
    classes = (" checkbox" if checkbox else "") + (" plan-options" if field.name == "plan" else "")
    if checkbox:
        body = f"\n    <label>{field} {_text(field.label)}</label>\n  "
    else:
        body = f"\n    {field.label_tag()}\n    {field}\n  "
    help_text = ""
    if field.help_text:
        helptext_id = f' id="{_text(field.auto_id)}_helptext"' if field.auto_id else ""
        help_text = f'<span class="helptext"{helptext_id}>{_text(field.help_text)}</span>'
    return f'<div class="field{classes}">\n  {body}\n  {help_text}\n  {field.errors}\n</div>'


@functools.cache
def template_has_text(name: str, sha256: str) -> bool:
    """Whether the template `name`, as the engine finds it, has the text whose SHA-256 is `sha256`: the text a
    rendering written in Python stands for (`_field` here, `{% language_switch %}`). Asked once per process."""
    source = get_template(name).template.source
    return hashlib.sha256(source.encode()).hexdigest() == sha256


FIELD_TEMPLATE = "forms/field.html"
FIELD_TEMPLATE_SHA256 = (
    "4c5a40d4079e6f5a1199910de083fad3f9d3917fdb8c66c047233990f8adf716"  # the text `_field` writes
)


WIDGET_ATTRS, INPUT = "django/forms/widgets/attrs.html", "django/forms/widgets/input.html"
# template name: (its rendering here, every template that rendering stands for)
FAST = {
    **{
        f"django/forms/widgets/{name}.html": (
            _input,
            (f"django/forms/widgets/{name}.html", INPUT, WIDGET_ATTRS),
        )
        for name in INPUT_TEMPLATES
    },
    "django/forms/widgets/select.html": (
        _select,
        ("django/forms/widgets/select.html", "django/forms/widgets/select_option.html", WIDGET_ATTRS),
    ),
    "django/forms/widgets/textarea.html": (_textarea, ("django/forms/widgets/textarea.html", WIDGET_ATTRS)),
    **{
        f"django/forms/widgets/{name}.html": (
            _multiple_input,
            (
                f"django/forms/widgets/{name}.html",
                "django/forms/widgets/multiple_input.html",
                *OPTION_TEMPLATES,
                "django/forms/widgets/input_option.html",
                INPUT,
                WIDGET_ATTRS,
            ),
        )
        for name in ("radio", "checkbox_select")
    },
    "django/forms/label.html": (_label, ("django/forms/label.html", "django/forms/attrs.html")),
    "django/forms/errors/list/default.html": (
        _errors,
        ("django/forms/errors/list/default.html", "django/forms/errors/list/ul.html"),
    ),
}


class PanelFormRenderer(TemplatesSetting):
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"

    def __init__(self):
        self._own: dict[str, bool] = {}  # template name: Django's own files, none overridden

    def _is_own(self, template_name: str) -> bool:
        if template_name not in self._own:
            self._own[template_name] = all(
                Path(get_template(name).origin.name).is_relative_to(DJANGO_FORM_TEMPLATES)
                for name in FAST[template_name][1]
            )
        return self._own[template_name]

    def field_is_ours(self) -> bool:
        """forms/field.html is the text `_field` writes."""
        return template_has_text(FIELD_TEMPLATE, FIELD_TEMPLATE_SHA256)

    def render(self, template_name, context, request=None):
        if template_name == FIELD_TEMPLATE and self.field_is_ours():
            return _field(context)
        fast = FAST.get(template_name)
        if fast is not None and self._is_own(template_name):
            html = fast[0](context)
            if html is not None:
                return html.strip()
        return super().render(template_name, context, request=request)
