from django.urls import path

from . import views

urlpatterns = [
    path("onboarding/", views.onboarding, name="onboarding"),
    path("team/", views.team, name="team"),
    path("team/invite/", views.team_invite, name="team_invite"),
    path("team/invitations/<int:pk>/cancel/", views.team_invitation_cancel, name="team_invitation_cancel"),
    path("team/members/<int:pk>/remove/", views.team_member_remove, name="team_member_remove"),
    path("team/two-factor/", views.team_two_factor, name="team_two_factor"),
    path("invitation/<str:token>/", views.invitation_accept, name="invitation_accept"),
    path("security/", views.account_settings, name="account_settings"),
    path("activity/", views.audit_log, name="audit_log"),
]
