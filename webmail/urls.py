from django.urls import path

from . import views

app_name = "webmail"

urlpatterns = [
    path("mailboxes/<int:pk>/webmail/", views.open_webmail, name="open"),
    path("webmail/api/sso/", views.api_sso, name="api_sso"),
    path("webmail/api/host/", views.api_host, name="api_host"),
    path("webmail/api/password/", views.api_password, name="api_password"),
]
