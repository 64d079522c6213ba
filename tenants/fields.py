"""Choice fields for ids typed into a URL or a form: a value that cannot be an id is refused with the
field's own "not one of the choices" message before any query, whatever the database.

Django's model choice fields pass the raw value to the database: a huge number raised `OverflowError` on
SQLite (a 500) and reached PostgreSQL as a numeric comparison. Every customer form that takes ids uses these.
"""

from django import forms
from django.db import connection


def _id_range(queryset, to_field_name: str | None) -> tuple[int, int] | None:
    """The range of the key the field looks objects up by, or None when it is not an integer."""
    field = queryset.model._meta.get_field(to_field_name) if to_field_name else queryset.model._meta.pk
    internal_type = field.get_internal_type()
    if "Integer" not in internal_type and "AutoField" not in internal_type:
        return None
    return connection.ops.integer_field_range(internal_type)


def is_possible_id(value, id_range: tuple[int, int] | None) -> bool:
    if id_range is None or value in (None, ""):
        return True
    text = str(value).strip()
    if not text.isascii() or not text.lstrip("-").isdigit():
        return False
    low, high = id_range
    return (low is None or int(text) >= max(low, 1)) and (high is None or int(text) <= high)


class IdChoiceField(forms.ModelChoiceField):
    def to_python(self, value):
        if not is_possible_id(value, _id_range(self.queryset, self.to_field_name)):
            raise forms.ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice", params={"value": value}
            )
        return super().to_python(value)


class FewChoicesIterator(forms.models.ModelChoiceIterator):
    """Django's iterator reads the choices with `QuerySet.iterator()`, which on PostgreSQL declares a held
    server-side cursor (DECLARE, FETCH, CLOSE: three round trips) each time the select is rendered. For a
    field whose choices are always few (a customer's relay credentials) one plain query is cheaper; a field
    that may offer thousands (mailboxes) keeps Django's."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset.all():  # a fresh query each time, as Django's: nothing cached on the field
            yield self.choice(obj)


class FewIdChoiceField(IdChoiceField):
    iterator = FewChoicesIterator


class IdMultipleChoiceField(forms.ModelMultipleChoiceField):
    def _check_values(self, value):
        id_range = _id_range(self.queryset, self.to_field_name)
        try:
            values = frozenset(value)
        except TypeError:
            values = frozenset()
        for one in values:
            if not is_possible_id(one, id_range):
                raise forms.ValidationError(
                    self.error_messages["invalid_choice"], code="invalid_choice", params={"value": one}
                )
        return super()._check_values(value)
