"""The one way a form is shown in the panel: `FORM_RENDERER` points here.

`{{ form }}` renders `templates/forms/form.html` (the form's own errors, then every field) and
`{{ form.field.as_field_group }}` renders `templates/forms/field.html` (label, input, help text, errors), for a
page that lays its fields out itself, after `{% include "forms/errors.html" %}`. Widgets come from the same
template engine (`TemplatesSetting`), so a project template could override one of Django's.
"""

from django.forms.renderers import TemplatesSetting


class PanelFormRenderer(TemplatesSetting):
    form_template_name = "forms/form.html"
    field_template_name = "forms/field.html"
