from django.urls import path

from ..views import dkim, dns

urlpatterns = [
    path("dns/", dns.dns_overview, name="dns_overview"),
    path("domains/<int:pk>/dns/", dns.dns_records, name="dns_records"),
    path("domains/<int:pk>/dns/check/", dns.dns_check, name="dns_check"),
    path("domains/<int:pk>/dns/zone/", dns.dns_zone_download, name="dns_zone_download"),
    path("domains/<int:pk>/dns/settings/", dns.dmarc_settings, name="dmarc_settings"),
    path("domains/<int:pk>/dkim/generate/", dkim.dkim_generate, name="dkim_generate"),
    path("domains/<int:pk>/dkim/<int:key_pk>/rotate/", dkim.dkim_rotate, name="dkim_rotate"),
    path(".well-known/mta-sts.txt", dns.mta_sts_policy_file, name="mta_sts_policy"),
]
