"""Signature pages: a mailbox's own signature, and the domain's template its mailboxes start from (owners)."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from tenants.access import owner_required
from tenants.audit import Actor
from tenants.content_policy import allow_style_attributes

from ..access import get_domain_or_404, get_mailbox_or_404, mailbox_access_required, refuse_if_suspended
from ..forms import SignatureForm, SignatureTemplateForm
from ..services import signatures
from .mailboxes import attach_errors

EXAMPLE_NAME = "Jan de Vries"
EXAMPLE_PHONE = "020 123 4567"


def signature_initial(mailbox, *, from_template: bool) -> dict:
    own = None if from_template else signatures.own_signature(mailbox)
    if own is not None:
        return {"name": own.name, "phone": own.phone, "text": own.text, "html": own.html}
    template = signatures.template_for(mailbox.domain)
    return {"name": mailbox.display_name, "phone": "", "text": template.text, "html": template.html}


@mailbox_access_required
def mailbox_signature(request, pk):
    mailbox = get_mailbox_or_404(request, pk)
    if request.method == "POST" and request.POST.get("action") == "use-template":
        if not refuse_if_suspended(request):
            signatures.clear_signature(actor=Actor.from_request(request), mailbox=mailbox)
            messages.success(request, _("This mailbox uses the domain's signature template again."))
        return redirect("mailaccounts:mailbox_signature", pk=mailbox.pk)
    initial = signature_initial(mailbox, from_template=request.GET.get("start") == "template")
    form = SignatureForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid() and not refuse_if_suspended(request):
        try:
            signatures.set_signature(actor=Actor.from_request(request), mailbox=mailbox, **form.cleaned_data)
        except ValidationError as error:
            attach_errors(form, error)
        else:
            messages.success(request, _("Signature saved."))
            return redirect("mailaccounts:mailbox_signature", pk=mailbox.pk)
    template = signatures.template_for(mailbox.domain)
    page = render(
        request,
        "mailaccounts/mailbox_signature.html",
        {
            "mailbox": mailbox,
            "form": form,
            "own": signatures.own_signature(mailbox),
            "current": signatures.effective_signature(mailbox),
            "has_template": bool(template.text or template.html),
            "max_characters": signatures.MAX_CHARACTERS,
        },
    )
    return allow_style_attributes(page)  # the preview shows the signature's own styles


@owner_required
def domain_signature_template(request, pk):
    domain = get_domain_or_404(request, pk)
    template = signatures.template_for(domain)
    form = SignatureTemplateForm(request.POST or None, initial={"text": template.text, "html": template.html})
    if request.method == "POST" and form.is_valid() and not refuse_if_suspended(request):
        try:
            template = signatures.set_signature_template(
                actor=Actor.from_request(request), domain=domain, **form.cleaned_data
            )
        except ValidationError as error:
            attach_errors(form, error)
        else:
            messages.success(request, _("Signature template saved."))
            return redirect("mailaccounts:domain_signature_template", pk=domain.pk)
    example = {"name": EXAMPLE_NAME, "address": f"jan@{domain.unicode_name}", "phone": EXAMPLE_PHONE}
    page = render(
        request,
        "mailaccounts/domain_signature_template.html",
        {
            "domain": domain,
            "form": form,
            "template": template,
            "example_text": signatures.fill_placeholders(template.text, **example, is_html=False),
            "example_html": signatures.fill_placeholders(template.html, **example, is_html=True),
            "max_characters": signatures.MAX_CHARACTERS,
        },
    )
    return allow_style_attributes(page)  # the example shows the template's own styles


# Cards on the mailbox's and the domain's page (registered in apps.py through sections.py) -------------------


def mailbox_signature_section(request, mailbox) -> str:
    if mailbox.deleted_at is not None:
        return ""
    return render_to_string(
        "mailaccounts/_signature_section.html",
        {
            "mailbox": mailbox,
            "current": signatures.effective_signature(mailbox),
            "own": signatures.own_signature(mailbox),
        },
        request=request,
    )


def domain_signature_section(request, domain) -> str:
    membership = getattr(request, "membership", None)
    if membership is None or not membership.is_owner:
        return ""
    return render_to_string(
        "mailaccounts/_signature_template_section.html",
        {"domain": domain, "template": signatures.template_for(domain)},
        request=request,
    )
