from django.urls import path

from . import payment_views, views

app_name = "billing"
urlpatterns = [
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("details/", views.billing_details, name="details"),
    path("invoices/<int:pk>/pay/", payment_views.invoice_pay, name="invoice_pay"),
    path("payments/", payment_views.payment_list, name="payment_list"),
    path("payments/return/<str:reference>/", payment_views.payment_return, name="payment_return"),
    path("payments/webhook/", payment_views.payment_webhook, name="payment_webhook"),
    path("cancel/", payment_views.account_cancel, name="account_cancel"),
]
