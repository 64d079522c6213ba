from django.urls import path

from ..views import dkim as views

urlpatterns = [
    path("dns/", views.dns_overview, name="dns_overview"),
    path("domains/<int:pk>/dns/", views.dns_records, name="dns_records"),
    path("domains/<int:pk>/dns/check/", views.dns_check, name="dns_check"),
    path("domains/<int:pk>/dns/zone/", views.dns_zone_download, name="dns_zone_download"),
    path("domains/<int:pk>/dns/settings/", views.dmarc_settings, name="dmarc_settings"),
    path("domains/<int:pk>/dkim/generate/", views.dkim_generate, name="dkim_generate"),
    path("domains/<int:pk>/dkim/<int:key_pk>/rotate/", views.dkim_rotate, name="dkim_rotate"),
    path(".well-known/mta-sts.txt", views.mta_sts_policy_file, name="mta_sts_policy"),
]
