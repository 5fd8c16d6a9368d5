from django.urls import path

from apps.orders.page import views

urlpatterns = [
    path("<str:token>", views.share_page, name="share-page"),
    path("<str:token>/stream", views.share_stream, name="share-stream"),
]
