from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from .access import customer_required


@customer_required
def dashboard(request):
    return render(request, "panel/dashboard.html", {})


@login_required
def onboarding(request):
    if request.customer is not None:
        return redirect("dashboard")
    return render(request, "panel/onboarding.html", {})
