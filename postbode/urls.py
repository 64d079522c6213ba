from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from billing import plan_views

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("plan/", plan_views.plan, name="plan"),
    path("plan/change/", plan_views.plan_change, name="plan_change"),
    path("", include("tenants.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include("mailaccounts.urls")),
    path("relay/", include("relay.urls")),
    path("", include("devices.urls")),
    path("billing/", include("billing.urls")),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
