from datetime import date

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from tenants.fields import IdChoiceField

from . import maildir


class FolderField(forms.CharField):
    """A folder of a backup; the clear reason when the name is unusable (see maildir.check_folder_name)."""

    def __init__(self, **kwargs):
        super().__init__(required=False, strip=False, max_length=None, **kwargs)

    def clean(self, value):
        value = super().clean(value) or ""
        return maildir.check_folder_name(value) if value else ""


class RestoreForm(forms.Form):
    """A day with a backup of the mailbox, and the whole mailbox (no folder) or one folder of it."""

    day = forms.DateField(label=_("Day"), input_formats=["%Y-%m-%d"])
    folder = FolderField(label=_("Folder"))

    def __init__(self, *args, sources=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sources = sources  # SnapshotMailbox rows of the mailbox, newest first

    def clean_day(self):
        day: date = self.cleaned_data["day"]
        self.source = next((s for s in self.sources if s.snapshot.day == day), None)
        if self.source is None:
            raise ValidationError(
                _("There is no backup of %(day)s. Choose one of the days listed."),
                params={"day": day.isoformat()},
            )
        return day


class PurgedRestoreForm(forms.Form):
    """A removed mailbox's backup, restored into one of the customer's mailboxes."""

    mailbox = IdChoiceField(label=_("Restore into"), queryset=None, empty_label=None)
    folder = FolderField(label=_("Folder"))

    def __init__(self, *args, mailboxes=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["mailbox"].queryset = mailboxes


class DeletedSearchForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=200)


class DeletedRestoreForm(forms.Form):
    folder = forms.CharField(max_length=1000)
    guid = forms.CharField(max_length=1000)
