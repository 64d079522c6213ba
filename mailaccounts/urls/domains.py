from django.urls import path

from ..views import domains as views

urlpatterns = [
    path("domains/", views.domain_list, name="domain_list"),
    path("domains/add/", views.domain_add, name="domain_add"),
    path("domains/<int:pk>/", views.domain_detail, name="domain_detail"),
    path("domains/<int:pk>/verify/", views.domain_verify, name="domain_verify"),
    path("domains/<int:pk>/delete/", views.domain_delete, name="domain_delete"),
]
