from django.urls import path

from apps.menus.api import views

urlpatterns = [
    path("chefs", views.ChefBrowseApi.as_view(), name="chef-browse"),
    path("chefs/<uuid:chef_id>", views.ChefDetailApi.as_view(), name="chef-detail"),
    path("dishes", views.DishBrowseApi.as_view(), name="dish-browse"),
    path("dishes/<uuid:dish_id>", views.DishDetailApi.as_view(), name="dish-detail"),
    path("chef/dishes", views.ChefDishListApi.as_view(), name="chef-dishes"),
    path("chef/dishes/<uuid:dish_id>", views.ChefDishDetailApi.as_view(), name="chef-dish"),
]
