from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from billing import plan_views
from tenants.confirm_email import confirm_email

from . import health, views

handler400 = "postbode.views.bad_request"
handler403 = "postbode.views.permission_denied"
handler500 = "postbode.views.server_error"
admin.site.site_header = admin.site.site_title = format_lazy("{} · {}", settings.SITE_NAME, _("staff admin"))
admin.site.index_title = _("Customers, mail and invoices")
admin.site.login = views.admin_login  # staff sign in through allauth, with two-factor (issue 15)

urlpatterns = [
    path("favicon.ico", views.favicon),
    path("robots.txt", views.robots_txt, name="robots_txt"),
    path(".well-known/security.txt", views.security_txt, name="security_txt"),
    path("", views.dashboard, name="dashboard"),
    path("healthz", health.health, name="health"),
    path("plan/", plan_views.plan, name="plan"),
    path("plan/change/", plan_views.plan_change, name="plan_change"),
    path("", include("tenants.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    re_path(r"^accounts/confirm-email/(?P<key>[-:\w]+)/$", confirm_email, name="account_confirm_email"),
    path("accounts/", include("allauth.urls")),
    path("admin/login/", views.admin_login),
    path("admin/", admin.site.urls),
    path("", include("mailaccounts.urls")),
    path("relay/", include("relay.urls")),
    path("spam/", include("spamfilter.urls")),
    path("", include("devices.urls")),
    path("billing/", include("billing.urls")),
    path("", include("backups.urls")),
    path("", include("webmail.urls")),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
