from django import forms
from django.utils.translation import gettext_lazy as _

from mailaccounts.forms import AsciiIntegerField

from .entries import MAX_ENTRIES
from .models import (
    DEFAULT_JUNK_DAYS,
    DEFAULT_REJECT_SCORE,
    JUNK_SCORE,
    MAX_JUNK_DAYS,
    MAX_REJECT_SCORE,
    MIN_REJECT_SCORE,
    ListKind,
    Sensitivity,
)

SENSITIVITY_HELP = {
    Sensitivity.RELAXED: _(
        "Only clear spam goes to Junk (from score %(score)d). Fewer mistakes, more spam in your inbox."
    ),
    Sensitivity.NORMAL: _("Probable spam goes to Junk (from score %(score)d). Right for most mailboxes."),
    Sensitivity.STRICT: _(
        "Anything doubtful goes to Junk (from score %(score)d). Check your Junk folder now and then."
    ),
}


def sensitivity_choices():
    return [
        (value, f"{label}: {SENSITIVITY_HELP[value] % {'score': JUNK_SCORE[value]}}")
        for value, label in Sensitivity.choices
    ]


class PolicyForm(forms.Form):
    is_enabled = forms.BooleanField(
        label=_("Filter spam"),
        required=False,
        help_text=_(
            "Off: nothing goes to Junk and nothing is refused by score; the block list still applies."
        ),
    )
    sensitivity = forms.ChoiceField(
        label=_("Sensitivity"),
        choices=sensitivity_choices,
        widget=forms.RadioSelect,
        initial=Sensitivity.NORMAL,
    )
    reject_score = AsciiIntegerField(
        label=_("Refuse mail from score"),
        min_value=MIN_REJECT_SCORE,
        max_value=MAX_REJECT_SCORE,
        initial=DEFAULT_REJECT_SCORE,
        help_text=_(
            "Mail scoring this or more is refused while the sender is still connected, so it never reaches "
            "you and the sender hears about it. 15 is the usual value; ordinary mail scores below 2."
        ),
    )


class MailboxPolicyForm(PolicyForm):
    inherits = forms.TypedChoiceField(
        label=_("Settings"),
        choices=[(True, _("Use the domain's settings")), (False, _("Use settings of its own"))],
        coerce=lambda value: value in (True, "True"),
        widget=forms.RadioSelect,
        initial=True,
    )
    junk_days = AsciiIntegerField(
        label=_("Keep mail in Junk for (days)"),
        min_value=1,
        max_value=MAX_JUNK_DAYS,
        initial=DEFAULT_JUNK_DAYS,
        help_text=_("Older mail in the Junk folder is deleted automatically."),
    )

    field_order = ["inherits", "is_enabled", "sensitivity", "reject_score", "junk_days"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.data and self.data.get("inherits") in ("True", True):
            # the own settings are ignored: do not let their fields refuse the form
            for name in ("sensitivity", "reject_score"):
                self.fields[name].required = False


class ListEntriesForm(forms.Form):
    kind = forms.ChoiceField(choices=ListKind.choices, widget=forms.HiddenInput)
    entries = forms.CharField(
        label=_("Addresses or domains"),
        max_length=MAX_ENTRIES * 100,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "jan@example.nl\n@example.com"}),
        help_text=_("One per line: an address (jan@example.nl) or a whole domain (@example.nl)."),
    )
