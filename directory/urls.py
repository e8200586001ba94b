"""URLs of the directory screens: sign-in and logout, the Company Directory, users, My Information, the CU portal."""
from django.urls import path

from directory.views import aad_picker, auth, contacts, myinfo, portal, user_match, users

urlpatterns = [
    path("", portal.root, name="root"),
    path("login/", auth.ManagerLoginView.as_view(), name="login"),
    path("logout/", auth.portal_logout, name="logout"),
    path("cu/login/", auth.UserLoginView.as_view(), name="cu-login"),
    path("cu/", portal.cu_home, name="cu-home"),
    path("directory/", contacts.directory_page, name="directory"),
    path("directory/new/", contacts.contact_new, name="contact-new"),
    path("directory/<int:pk>/edit/", contacts.contact_edit, name="contact-edit"),
    path("directory/<int:pk>/delete/", contacts.contact_remove, name="contact-delete"),
    path("directory/export.csv", contacts.directory_export_csv, name="directory-export"),
    path("directory/aad-accounts/", aad_picker.aad_account_search_json, name="aad-account-search"),
    path("users/", users.user_list_page, name="users"),
    path("users/new/", users.user_new, name="user-new"),
    path("users/<int:pk>/edit/", users.user_edit, name="user-edit"),
    path("users/match/", user_match.user_match_page, name="user-match"),
    path("my-information/", myinfo.my_information, name="my-information"),
]
