from django.urls import path

from ..views import mailboxes as views
from ..views import signatures

urlpatterns = [
    path("mailboxes/", views.mailbox_list, name="mailbox_list"),
    path("mailboxes/add/", views.mailbox_add, name="mailbox_add"),
    path("mailboxes/<int:pk>/", views.mailbox_detail, name="mailbox_detail"),
    path("mailboxes/<int:pk>/edit/", views.mailbox_edit, name="mailbox_edit"),
    path("mailboxes/<int:pk>/password/", views.mailbox_password, name="mailbox_password"),
    path("mailboxes/<int:pk>/forwarding/", views.mailbox_forwarding, name="mailbox_forwarding"),
    path("mailboxes/<int:pk>/panel-login/", views.mailbox_panel_login, name="mailbox_panel_login"),
    path("mailboxes/<int:pk>/autoresponder/", views.autoresponder, name="autoresponder"),
    path("mailboxes/<int:pk>/signature/", signatures.mailbox_signature, name="mailbox_signature"),
    path(
        "domains/<int:pk>/signature/",
        signatures.domain_signature_template,
        name="domain_signature_template",
    ),
    path("mailboxes/<int:pk>/delete/", views.mailbox_delete, name="mailbox_delete"),
    path("mailboxes/<int:pk>/restore/", views.mailbox_restore, name="mailbox_restore"),
    path("aliases/", views.alias_list, name="alias_list"),
    path("aliases/add/", views.alias_add, name="alias_add"),
    path("aliases/<int:pk>/edit/", views.alias_edit, name="alias_edit"),
    path("aliases/<int:pk>/delete/", views.alias_delete, name="alias_delete"),
    path("domains/<int:pk>/routing/", views.domain_routing, name="domain_routing"),
]
