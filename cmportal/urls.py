"""URL map of the CM portal, the Customer User portal and the operators' admin."""
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import path

from aadsync import views as aad_views
from directory.views import auth as auth_views_ours
from directory.views import portal

urlpatterns = [
    path("", portal.root, name="root"),
    path("login/", auth_views_ours.ManagerLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("cu/login/", auth_views_ours.UserLoginView.as_view(), name="cu-login"),
    path("cu/", portal.cu_home, name="cu-home"),
    path("aad/", aad_views.aad_settings_page, name="aad-settings"),
    path("admin/", admin.site.urls),
]
