"""Mail programs and other mail servers reach the panel under the customers' names (`mta-sts.<domain>`,
`autoconfig.<domain>`): those few public endpoints answer there, while everything else keeps Django's
`ALLOWED_HOSTS` check, so the panel itself is never served, and no link is ever built, under such a name."""

from django.conf import settings
from django.shortcuts import render
from django.urls import resolve

from tenants.content_policy import CONTENT_SECURITY_POLICY, FOR_DEBUG_ERROR_PAGES
from tenants.hosts import MAIL_CLIENT_HOST, MAIL_CLIENT_PATHS, outside_host
from tenants.middleware import same_site_referer


class MailClientHostMiddleware:
    """First in MIDDLEWARE: a request for a mail-client endpoint under a name outside `ALLOWED_HOSTS` goes
    straight to its view (no session, no sign-in: these views need neither), with the name it was asked
    for. Any other path under such a name meets Django's usual refusal (400)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info in MAIL_CLIENT_PATHS:
            host = outside_host(request)
            if host is not None:
                setattr(request, MAIL_CLIENT_HOST, host)
                match = resolve(request.path_info)
                return match.func(request, *match.args, **match.kwargs)
        return self.get_response(request)


class ContentSecurityPolicyMiddleware:
    """Every page of the panel says where its scripts and styles may come from (tenants/content_policy.py), so
    that text that slipped past the escaping could still neither run nor restyle the page (a response that set
    its own policy keeps it)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        debug_page = settings.DEBUG and response.status_code >= 400
        response.headers.setdefault(
            "Content-Security-Policy", FOR_DEBUG_ERROR_PAGES if debug_page else CONTENT_SECURITY_POLICY
        )
        return response


class MethodNotAllowedPageMiddleware:
    """A browser opening the address of something only a button does (removing, sending: the views that take
    POST only) gets a page that says so and leads back, instead of Django's empty 405. Programs (no
    `text/html` in Accept) keep the bare answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or request.method not in ("GET", "HEAD"):
            return response
        if response.streaming or response.content:
            return response
        if "text/html" not in request.headers.get("accept", ""):
            return response
        page = render(request, "405.html", {"back_url": same_site_referer(request)}, status=405)
        page["Allow"] = response.get("Allow", "")
        return page
