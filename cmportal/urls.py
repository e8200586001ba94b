"""URL map: each app's own URLs (the directory screens, MS AAD pages, Microsoft sign-in), health and the admin."""
from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from cmportal.health import health


class FaviconView(RedirectView):
    """/favicon.ico, which browsers ask for on pages without a <link rel=icon> (JSON, the admin): the static icon."""

    permanent = True

    def get_redirect_url(self, *args, **kwargs) -> str:
        return static("img/favicon.ico")  # at request time: in production the name carries the file's hash


urlpatterns = [
    path("", include("directory.urls")),
    path("", include("aadsync.urls")),
    path("", include("aadlogin.urls")),
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("health/", health, name="health"),
    path("admin/", admin.site.urls),
]
