from django.urls import path

from . import views

app_name = "backups"
urlpatterns = [
    path("backups/", views.overview, name="overview"),
    path("backups/removed/<int:source_pk>/", views.purged_restore, name="purged_restore"),
    path("mailboxes/<int:pk>/backups/deleted/", views.deleted_list, name="deleted_list"),
    path("mailboxes/<int:pk>/backups/deleted/restore/", views.deleted_restore, name="deleted_restore"),
    path("mailboxes/<int:pk>/backups/restore/", views.restore_start, name="restore_start"),
    path(
        "mailboxes/<int:pk>/backups/restores/<int:restore_pk>/", views.restore_detail, name="restore_detail"
    ),
    path(
        "mailboxes/<int:pk>/backups/restores/<int:restore_pk>/progress/",
        views.restore_progress,
        name="restore_progress",
    ),
]
