from django.urls import path

from apps.orders.api import views

urlpatterns = [
    path("orders", views.OrderListApi.as_view(), name="orders"),
    path("orders/<uuid:order_id>", views.OrderDetailApi.as_view(), name="order"),
    path("orders/<uuid:order_id>/cancel", views.OrderCancelApi.as_view(), name="order-cancel"),
    path("orders/<uuid:order_id>/tracking", views.OrderTrackingApi.as_view(), name="order-tracking"),
    path(
        "orders/<uuid:order_id>/tracking/stream", views.OrderTrackingStreamApi.as_view(), name="order-tracking-stream"
    ),
    path("orders/<uuid:order_id>/share", views.OrderShareApi.as_view(), name="order-share"),
    path("orders/<uuid:order_id>/review", views.OrderReviewApi.as_view(), name="order-review"),
    path("chef/orders", views.ChefOrderListApi.as_view(), name="chef-orders"),
    path("chef/orders/<uuid:order_id>/accept", views.ChefOrderAcceptApi.as_view(), name="chef-order-accept"),
    path("chef/orders/<uuid:order_id>/reject", views.ChefOrderRejectApi.as_view(), name="chef-order-reject"),
    path("chef/orders/<uuid:order_id>/ready", views.ChefOrderReadyApi.as_view(), name="chef-order-ready"),
]
