from django.urls import path

from . import views

app_name = "spamfilter"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("domains/<int:pk>/", views.domain_settings, name="domain"),
    path("domains/<int:pk>/lists/", views.domain_list_add, name="domain_list_add"),
    path(
        "domains/<int:pk>/lists/<int:entry_pk>/remove/", views.domain_list_remove, name="domain_list_remove"
    ),
    path("mailboxes/<int:pk>/", views.mailbox_settings, name="mailbox"),
    path("mailboxes/<int:pk>/lists/", views.mailbox_list_add, name="mailbox_list_add"),
    path(
        "mailboxes/<int:pk>/lists/<int:entry_pk>/remove/",
        views.mailbox_list_remove,
        name="mailbox_list_remove",
    ),
]
