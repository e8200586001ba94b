"""URL map: each app's own URLs (the directory screens, MS AAD pages, Microsoft sign-in), health and the admin."""
from django.contrib import admin
from django.urls import include, path

from cmportal.health import health

urlpatterns = [
    path("", include("directory.urls")),
    path("", include("aadsync.urls")),
    path("", include("aadlogin.urls")),
    path("health/", health, name="health"),
    path("admin/", admin.site.urls),
]
