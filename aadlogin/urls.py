"""URLs of "Sign in with Microsoft": the start page and the one callback registered in Azure."""
from django.urls import path

from aadlogin import views

urlpatterns = [
    path("login/microsoft/", views.microsoft_start, name="aad-signin"),
    # The redirect URI every company registers in Azure: keep this path as it is.
    path("aad/callback/", views.microsoft_callback, name="aad-callback"),
]
