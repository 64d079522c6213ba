from django.urls import path

from . import views

app_name = "relay"
urlpatterns = [
    path("credentials/", views.credential_list, name="credential_list"),
    path("credentials/add/", views.credential_add, name="credential_add"),
    path("credentials/<int:pk>/", views.credential_detail, name="credential_detail"),
    path("credentials/<int:pk>/secret/", views.credential_secret, name="credential_secret"),
    path("credentials/<int:pk>/toggle/", views.credential_toggle, name="credential_toggle"),
    path("credentials/<int:pk>/delete/", views.credential_delete, name="credential_delete"),
    path("log/", views.message_list, name="message_list"),
    path("log/export.csv", views.message_export, name="message_export"),
    path("log/<int:pk>/", views.message_detail, name="message_detail"),
]
