from django.urls import include, path

app_name = "mailaccounts"
urlpatterns = [
    path("", include("mailaccounts.urls.domains")),
    path("", include("mailaccounts.urls.mailboxes")),
    path("", include("mailaccounts.urls.dns")),
]
