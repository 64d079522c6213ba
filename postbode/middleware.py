"""Mail programs and other mail servers reach the panel under the customers' names (`mta-sts.<domain>`,
`autoconfig.<domain>`): those few public endpoints answer there, while everything else keeps Django's
`ALLOWED_HOSTS` check, so the panel itself is never served, and no link is ever built, under such a name."""

from django.urls import resolve

from tenants.hosts import MAIL_CLIENT_HOST, MAIL_CLIENT_PATHS, outside_host


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
