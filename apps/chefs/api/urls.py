from django.urls import path

from apps.chefs.api import views

urlpatterns = [
    path("chef/profile", views.ChefProfileApi.as_view(), name="chef-profile"),
    path("chef/photos", views.ChefPhotoUploadApi.as_view(), name="chef-photos"),
    path("chef/opening-hours", views.ChefOpeningHoursApi.as_view(), name="chef-opening-hours"),
]
