from django.apps import AppConfig


class MenusConfig(AppConfig):
    name = "apps.menus"
    label = "menus"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from apps.chefs.events import kitchen_listing_changed
        from apps.menus.browse.catalog import on_kitchen_listing_changed

        kitchen_listing_changed.connect(on_kitchen_listing_changed, dispatch_uid="menus.browse.catalog")
