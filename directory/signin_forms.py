"""Password sign-in forms: the CM portal, the Customer User portal and the operators' admin, all throttled."""
from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import authenticate
from django.contrib.auth.forms import AuthenticationForm
from django.views.decorators.debug import sensitive_variables

from directory import throttle
from directory.models import Person


class ThrottledAuthenticationForm(AuthenticationForm):
    """Takes a slot in the account's and the address's throttle counters before the password is checked
    (directory/throttle.py), and settles it by the outcome."""

    throttled: throttle.Throttled | None = None

    @sensitive_variables("password")
    def clean(self) -> dict:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        if self.request is None:
            raise TypeError("A throttled sign-in form needs the request (its client address is counted).")
        try:
            attempt = throttle.attempt_begin(request=self.request, account=username)
        except throttle.Throttled as throttled:
            self.throttled = throttled
            raise forms.ValidationError(throttled.message, code="throttled") from None
        self.user_cache = authenticate(self.request, username=username, password=password)
        if self.user_cache is None:
            attempt.failed()
            raise self.get_invalid_login_error()
        try:
            self.confirm_login_allowed(self.user_cache)
        except forms.ValidationError:
            attempt.abandoned()  # the password was right; this is only the wrong door
            raise
        attempt.succeeded()
        return self.cleaned_data


class PortalAuthenticationForm(ThrottledAuthenticationForm):
    """Signs in only the role this portal is for, with a sentence that points at the other portal."""

    role = Person.Role.MANAGER
    wrong_portal_message = "This is the Customer Manager portal for managers. Users sign in at /cu/login/."
    # The field is labelled ID on this page (Django's sentence would say "username").
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Please enter a correct ID and password. Note that both fields may be case-sensitive.",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "ID"
        self.fields["username"].widget.attrs["placeholder"] = "e.g. rich@cm1-vertical"

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.role != self.role:
            raise forms.ValidationError(self.wrong_portal_message, code="wrong_portal")


class UserPortalAuthenticationForm(PortalAuthenticationForm):
    role = Person.Role.USER
    wrong_portal_message = "This is the Customer User portal. Managers sign in at /login/."


class OperatorAuthenticationForm(ThrottledAuthenticationForm, AdminAuthenticationForm):
    """/admin/login/: the same throttle as the portals' sign-in (set as admin.site.login_form)."""
