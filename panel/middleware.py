"""Attach the request's customer (the tenant) and membership, if the user has one."""

from django.utils.functional import SimpleLazyObject


def _membership(request):
    user = request.user
    if not user.is_authenticated:
        return None
    from .models import Membership

    return Membership.objects.select_related("customer", "customer__plan").filter(user=user).first()


class CustomerMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.membership = SimpleLazyObject(lambda: _membership(request))
        request.customer = SimpleLazyObject(
            lambda: request.membership.customer if request.membership else None
        )
        return self.get_response(request)
