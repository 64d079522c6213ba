"""The "Open webmail" button, and the endpoints the mail hosts' webmail calls (sign-on, mail host, password).

The endpoints answer only a caller that shows the mail host's shared secret (`WEBMAIL_API_SECRET`, rendered
onto the hosts); without it they do not exist (404). They are CSRF-exempt because no browser calls them.
"""

import hmac
import ipaddress

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from mailaccounts.access import get_mailbox_or_404, mailbox_access_required, refuse_if_suspended
from tenants.audit import Actor, client_ip

from . import services


@require_POST
@mailbox_access_required
def open_webmail(request, pk):
    """A one-time link into the mailbox's webmail, for the mailbox's own user only (others: 404)."""
    mailbox = get_mailbox_or_404(request, pk)
    if not services.may_open_webmail(request.user, mailbox) or not services.is_available():
        raise Http404
    if refuse_if_suspended(request):
        return redirect("mailaccounts:mailbox_detail", pk=mailbox.pk)
    try:
        token = services.create_sso_token(actor=Actor.from_request(request), mailbox=mailbox)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("mailaccounts:mailbox_detail", pk=mailbox.pk)
    response = redirect(services.sso_url(token))
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def shows_secret(request) -> bool:
    scheme, _space, secret = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        secret.encode(), settings.WEBMAIL_API_SECRET.encode()
    )


def mail_host_only(view):
    """POST with the mail host's shared secret, or this endpoint does not exist."""

    def wrapper(request, *args, **kwargs):
        if request.method != "POST" or not shows_secret(request):
            raise Http404
        return view(request, *args, **kwargs)

    return csrf_exempt(never_cache(wrapper))


@mail_host_only
def api_sso(request):
    mailbox = services.redeem_sso_token(request.POST.get("token", ""))
    if mailbox is None:
        return JsonResponse({"error": "invalid or used token"}, status=403)
    return JsonResponse(services.webmail_login(mailbox))


@mail_host_only
def api_host(request):
    """The mail host a login with the password goes to: the one that serves the address's domain."""
    host = services.mail_host_of(request.POST.get("user", "")[:254])
    if host is None:
        return JsonResponse({"error": "unknown mailbox"}, status=404)
    return JsonResponse({"host": host})


def webmail_language(code: str) -> str:
    """Roundcube's "nl_NL" → "nl"; a language we do not speak → the default."""
    language = code.split("_")[0].lower()
    return language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE


def user_ip(request) -> str | None:
    """The webmail user's address as webmail saw it (the caller proved it is the mail host), else the caller's."""
    try:
        return str(ipaddress.ip_address(request.POST.get("ip", "").strip()))
    except ValueError:
        return client_ip(request)


@mail_host_only
def api_password(request):
    with translation.override(webmail_language(request.POST.get("language", ""))):
        try:
            mailbox = services.change_password_from_webmail(
                address=request.POST.get("user", "")[:254],
                current=request.POST.get("current", ""),
                new=request.POST.get("new", ""),
                ip_address=user_ip(request),
            )
        except services.PasswordChangeRefused as refused:
            return JsonResponse({"message": refused.message}, status=refused.status)
    # The session carries on with a credential for the new password, which the mail host takes once it has
    # applied the change: wait for that (the session's next IMAP command would be refused before it).
    services.wait_until_applied(mailbox, timeout=settings.WEBMAIL_PASSWORD_APPLY_WAIT)
    return JsonResponse({"ok": True, "password": services.webmail_login(mailbox)["password"]})
