"""URL map of the CM portal, the Customer User portal and the operators' admin."""
from django.contrib import admin
from django.urls import include, path

from aadsync import run_views
from aadsync import views as aad_views
from cmportal.health import health
from directory.views import aad_picker, contacts, myinfo, portal, users
from directory.views import auth as auth_views_ours

urlpatterns = [
    path("", portal.root, name="root"),
    path("login/", auth_views_ours.ManagerLoginView.as_view(), name="login"),
    path("logout/", auth_views_ours.portal_logout, name="logout"),
    path("", include("aadlogin.urls")),
    path("cu/login/", auth_views_ours.UserLoginView.as_view(), name="cu-login"),
    path("cu/", portal.cu_home, name="cu-home"),
    path("aad/", aad_views.aad_settings_page, name="aad-settings"),
    path("aad/sync/", run_views.one_time_sync, name="aad-sync"),
    path("aad/sync/status/", run_views.sync_status, name="aad-sync-status"),
    path("aad/history/", run_views.sync_history, name="aad-sync-history"),
    path("directory/", contacts.directory_page, name="directory"),
    path("directory/new/", contacts.contact_new, name="contact-new"),
    path("directory/<int:pk>/edit/", contacts.contact_edit, name="contact-edit"),
    path("directory/<int:pk>/delete/", contacts.contact_remove, name="contact-delete"),
    path("directory/export.csv", contacts.directory_export_csv, name="directory-export"),
    path("directory/aad-accounts/", aad_picker.aad_account_search_json, name="aad-account-search"),
    path("users/", users.user_list_page, name="users"),
    path("users/new/", users.user_new, name="user-new"),
    path("users/<int:pk>/edit/", users.user_edit, name="user-edit"),
    path("my-information/", myinfo.my_information, name="my-information"),
    path("health/", health, name="health"),
    path("admin/", admin.site.urls),
]
