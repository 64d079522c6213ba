from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from . import views

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("onboarding/", views.onboarding, name="onboarding"),
    path("plan/", views.plan, name="plan"),
    path("plan/change/", views.plan_change, name="plan_change"),
    path("team/", views.team, name="team"),
    path("team/invite/", views.team_invite, name="team_invite"),
    path("team/invitations/<int:pk>/cancel/", views.team_invitation_cancel, name="team_invitation_cancel"),
    path("team/members/<int:pk>/remove/", views.team_member_remove, name="team_member_remove"),
    path("team/two-factor/", views.team_two_factor, name="team_two_factor"),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("security/", views.account_settings, name="account_settings"),
    path("activity/", views.audit_log, name="audit_log"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("accounts/", include("allauth.urls")),
    path("admin/", admin.site.urls),
    path("", include("mailaccounts.urls")),
    path("relay/", include("relay.urls")),
    path("billing/", include("billing.urls")),
]

if settings.DEBUG:
    from django.contrib.staticfiles.urls import staticfiles_urlpatterns

    urlpatterns += staticfiles_urlpatterns()
