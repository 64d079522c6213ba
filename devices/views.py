"""Automatic configuration answers (public, per domain) and the device pages of the panel (per mailbox).

Panel views look mailboxes and domains up through the mail accounts' access functions: another customer's
object is a 404.
"""

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from mailaccounts.access import (
    get_domain_or_404,
    get_mailbox_or_404,
    mailbox_access_required,
    refuse_if_suspended,
)
from mailaccounts.services.signatures import effective_signature
from tenants.access import owner_required
from tenants.audit import Actor
from tenants.content_policy import allow_style_attributes
from tenants.emails import site_link
from tenants.hosts import mail_client_host

from . import services
from .autoconfig import BadRequest, autoconfig_domain, domain_of, hosted_domain, parse_autodiscover
from .clients import CLIENTS, client_or_none, facts, steps_with_values
from .endpoints import settings_for_domain
from .profiles import profile_bytes

PROFILE_CONTENT_TYPE = "application/x-apple-aspen-config"
LINK_SESSION_KEY = "devices.profile_link"
XML = "application/xml; charset=utf-8"


# --- automatic configuration (no login; the same answer for every address of a hosted domain) -----------


@require_GET
def autoconfig(request):
    domain = autoconfig_domain(
        email_address=request.GET.get("emailaddress", ""), host=mail_client_host(request)
    )
    if domain is None:
        raise Http404
    context = {
        "client": settings_for_domain(domain, username="%EMAILADDRESS%"),
        "site_name": settings.SITE_NAME,
    }
    return HttpResponse(render_to_string("devices/autoconfig.xml", context), content_type=XML)


@csrf_exempt
@require_POST
def autodiscover(request):
    """Outlook's POX Autodiscover. Oversized bodies are refused before they are read."""
    try:
        length = int(request.headers.get("content-length") or 0)
    except ValueError:
        length = -1
    if length <= 0 or length > settings.AUTODISCOVER_MAX_BYTES:
        return HttpResponseBadRequest(_("The request body is missing or too large."))
    try:
        address = parse_autodiscover(request.read(settings.AUTODISCOVER_MAX_BYTES))
    except BadRequest:
        return HttpResponseBadRequest(_("This is not an Autodiscover request we can read."))
    domain = hosted_domain(domain_of(address))
    if domain is None:
        raise Http404
    context = {"client": settings_for_domain(domain, username=address)}
    return HttpResponse(render_to_string("devices/autodiscover.xml", context), content_type=XML)


def profile_response(mailbox) -> HttpResponse:
    response = HttpResponse(profile_bytes(mailbox), content_type=PROFILE_CONTENT_TYPE)
    filename = f"{mailbox.domain.name}.mobileconfig"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def profile_download(request, mailbox_id, token):
    """The one-time link behind the QR code: works once, until it expires, for its own mailbox only."""
    mailbox = services.claim_profile_link(mailbox_id=mailbox_id, token=token)
    if mailbox is None:
        raise Http404
    return profile_response(mailbox)


# --- the panel ----------------------------------------------------------------------------------------------


def qr_svg(url: str) -> str:
    image = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8, border=4)
    return image.to_string(encoding="unicode")


def pop_profile_link(request, mailbox) -> dict | None:
    link = request.session.pop(LINK_SESSION_KEY, None)
    if not link or link.get("mailbox") != mailbox.pk:
        return None
    return {**link, "qr": mark_safe(qr_svg(link["url"]))}  # noqa: S308 - qrcode's own SVG of our URL


@mailbox_access_required
def device_setup(request, pk):
    mailbox = get_mailbox_or_404(request, pk)
    client = client_or_none(request.GET.get("client", ""))
    context = {
        "mailbox": mailbox,
        "clients": CLIENTS,
        "client": client,
        "steps": steps_with_values(client, facts(mailbox)) if client else [],
        "profile_link": pop_profile_link(request, mailbox) if client and client.uses_profile_qr else None,
        "link_minutes": settings.DEVICE_PROFILE_LINK_MINUTES,
        "signature": effective_signature(mailbox),
    }
    # the signature to copy is shown with its own styles, as the mail will show it
    return allow_style_attributes(render(request, "devices/device_setup.html", context))


@require_POST
@mailbox_access_required
def profile_link_create(request, pk):
    mailbox = get_mailbox_or_404(request, pk)
    if mailbox.is_enabled and not refuse_if_suspended(request):
        link, token = services.create_profile_link(actor=Actor.from_request(request), mailbox=mailbox)
        url = site_link("devices:profile_download", mailbox.pk, token)
        request.session[LINK_SESSION_KEY] = {
            "mailbox": mailbox.pk,
            "url": url,
            "expires_at": timezone.localtime(link.expires_at).strftime("%H:%M"),
        }
    elif not mailbox.is_enabled:
        messages.error(request, _("This mailbox is disabled; enable it before setting up a device."))
    return redirect(reverse("devices:device_setup", args=[mailbox.pk]) + "?client=iphone")


@mailbox_access_required
def profile_direct_download(request, pk):
    """The profile for the signed-in panel user (a Mac): no link needed."""
    return profile_response(get_mailbox_or_404(request, pk))


@require_POST
@mailbox_access_required
def instructions_send(request, pk):
    mailbox = get_mailbox_or_404(request, pk)
    client = client_or_none(request.POST.get("client", ""))
    if client is None:
        messages.error(request, _("Choose a device or program first."))
        return redirect("devices:device_setup", pk=mailbox.pk)
    if not refuse_if_suspended(request):
        services.send_device_instructions(actor=Actor.from_request(request), mailbox=mailbox, client=client)
        messages.success(
            request,
            _("The instructions are on their way to %(address)s.") % {"address": mailbox.unicode_address},
        )
    return redirect(reverse("devices:device_setup", args=[mailbox.pk]) + f"?client={client.key}")


@require_POST
@owner_required
def shared_collections_set(request, pk):
    domain = get_domain_or_404(request, pk)
    enabled = request.POST.get("enabled") == "1"
    if not refuse_if_suspended(request):
        services.set_shared_collections(actor=Actor.from_request(request), domain=domain, enabled=enabled)
        if enabled:
            messages.success(request, _("The company calendar and address book are switched on."))
        else:
            messages.success(
                request, _("The company calendar and address book are switched off; their data is kept.")
            )
    return redirect("mailaccounts:domain_detail", pk=domain.pk)
