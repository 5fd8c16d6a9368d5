from django.urls import path

from apps.tracking.api import views

urlpatterns = [
    path("courier/availability", views.CourierAvailabilityApi.as_view(), name="courier-availability"),
    path("courier/location", views.CourierLocationApi.as_view(), name="courier-location"),
    path("courier/deliveries/available", views.AvailableDeliveriesApi.as_view(), name="courier-available"),
    path("courier/deliveries/current", views.CurrentDeliveryApi.as_view(), name="courier-current"),
    path("courier/deliveries/<uuid:delivery_id>/claim", views.DeliveryClaimApi.as_view(), name="courier-claim"),
    path("courier/deliveries/<uuid:delivery_id>/release", views.DeliveryReleaseApi.as_view(), name="courier-release"),
    path("courier/deliveries/<uuid:delivery_id>/pickup", views.DeliveryPickupApi.as_view(), name="courier-pickup"),
    path("courier/deliveries/<uuid:delivery_id>/deliver", views.DeliveryDeliverApi.as_view(), name="courier-deliver"),
]
