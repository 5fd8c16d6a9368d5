"""URL wiring: operations, the versioned API, the schema and docs, the admin."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from foodiefast import health, photos
from foodiefast.features_api import FeaturesApi

api_v1 = [
    path("", include("apps.accounts.api.urls")),
    path("", include("apps.payments.api.urls")),
    path("", include("apps.chefs.api.urls")),
    path("", include("apps.menus.api.urls")),
    path("", include("apps.orders.api.urls")),
    path("features", FeaturesApi.as_view(), name="features"),
    path("", include("apps.tracking.api.urls")),
]

urlpatterns = [
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("version", health.version, name="version"),
    path("api/v1/", include((api_v1, "v1"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("admin/", admin.site.urls),
    path("t/", include("apps.orders.page.urls")),
    # With no bucket configured: the photo uploads' form target and the published photos.
    path("uploads/photos", photos.local_upload, name="photo-upload-local"),
    re_path(r"^media/(?P<path>.+)$", photos.media, name="media"),
]

handler400 = "foodiefast.errors.bad_request"
handler403 = "foodiefast.errors.permission_denied"
handler404 = "foodiefast.errors.page_not_found"
handler500 = "foodiefast.errors.server_error"
