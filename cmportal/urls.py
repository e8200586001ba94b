"""URL map of the CM portal, the Customer User portal and the operators' admin."""
from django.contrib import admin
from django.urls import path

from aadsync import signin_views
from aadsync import views as aad_views
from directory.views import auth as auth_views_ours
from directory.views import portal

urlpatterns = [
    path("", portal.root, name="root"),
    path("login/", auth_views_ours.ManagerLoginView.as_view(), name="login"),
    path("logout/", signin_views.portal_logout, name="logout"),
    path("login/microsoft/", signin_views.microsoft_start, name="aad-signin"),
    path("aad/callback/", signin_views.microsoft_callback, name="aad-callback"),
    path("cu/login/", auth_views_ours.UserLoginView.as_view(), name="cu-login"),
    path("cu/", portal.cu_home, name="cu-home"),
    path("aad/", aad_views.aad_settings_page, name="aad-settings"),
    path("admin/", admin.site.urls),
]
