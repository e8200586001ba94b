"""Operators' admin for companies, sites, people and the directory; its sign-in is throttled like the portals'."""
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from directory.models import Company, Contact, Person, Site
from directory.signin_forms import OperatorAuthenticationForm

# /admin/login/ counts failures per username and per address exactly as /login/ and /cu/login/ do.
admin.site.login_form = OperatorAuthenticationForm


@admin.register(Company)
class CompanyAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "timezone"]
    search_fields = ["slug", "name"]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = ["name", "company"]
    list_select_related = ["company"]


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["__str__", "company", "email", "user_principal_name", "synced", "aad_state"]
    list_filter = ["synced", "aad_state"]
    search_fields = ["first_name", "last_name", "email", "user_principal_name", "object_id"]
    list_select_related = ["company"]
    show_full_result_count = False


@admin.register(Person)
class PersonAdmin(UserAdmin):
    list_display = ["username", "role", "company", "email", "is_active"]
    list_filter = ["role", "is_active", "is_staff"]
    search_fields = ["username", "email", "first_name", "last_name"]
    ordering = ["username"]
    raw_id_fields = ["aad_contact"]
    fieldsets = (
        (None, {"fields": ("company", "role", "login", "password")}),
        ("Details", {"fields": ("display_name", "first_name", "last_name", "email", "extension", "site",
                                "group_member_type", "package", "user_type", "aad_contact")}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
    )
    add_fieldsets = ((None, {"fields": ("company", "role", "login", "password1", "password2")}),)
