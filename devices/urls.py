from django.urls import path

from . import views

app_name = "devices"
urlpatterns = [
    path("mail/config-v1.1.xml", views.autoconfig, name="autoconfig"),
    path(".well-known/autoconfig/mail/config-v1.1.xml", views.autoconfig, name="autoconfig_well_known"),
    path("autodiscover/autodiscover.xml", views.autodiscover, name="autodiscover"),
    path("Autodiscover/Autodiscover.xml", views.autodiscover, name="autodiscover_capitalised"),
    path("devices/profile/<int:mailbox_id>/<str:token>/", views.profile_download, name="profile_download"),
    path("mailboxes/<int:pk>/devices/", views.device_setup, name="device_setup"),
    path("mailboxes/<int:pk>/devices/qr/", views.profile_link_create, name="profile_link_create"),
    path(
        "mailboxes/<int:pk>/devices/profile.mobileconfig",
        views.profile_direct_download,
        name="profile_direct",
    ),
    path("mailboxes/<int:pk>/devices/email/", views.instructions_send, name="instructions_send"),
    path("domains/<int:pk>/shared-calendar/", views.shared_collections_set, name="shared_collections_set"),
]
