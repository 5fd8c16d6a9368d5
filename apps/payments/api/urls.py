from django.urls import path

from apps.payments.api import views

urlpatterns = [
    path("payments/stripe/webhook", views.StripeWebhookApi.as_view(), name="stripe-webhook"),
]
