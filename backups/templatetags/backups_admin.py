"""The admin's banner of open backup alerts (templates/admin/base_site.html)."""

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe

from ..models import BackupAlert

register = template.Library()


@register.simple_tag(takes_context=True)
def backup_alerts(context):
    request = context.get("request")
    if request is None or not getattr(request.user, "is_staff", False):
        return ""
    alerts = list(BackupAlert.objects.filter(resolved_at__isnull=True).select_related("host")[:10])
    if not alerts:
        return ""
    return mark_safe(render_to_string("backups/admin_alerts.html", {"alerts": alerts}))  # noqa: S308
