"""Password sign-in for the CM portal (managers) and the Customer User portal (users), and the logout."""
from django import forms
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from directory import throttle
from directory.models import Person

# Set by an identity provider's sign-in (aadlogin): its sign-out URL, offered after the portal's own logout.
IDP_LOGOUT_URL = "idp_logout_url"


def home_url_for(person) -> str:
    """Where a signed-in person belongs: managers in the CM portal, users in the Customer User portal."""
    return reverse("aad-settings") if person.role == Person.Role.MANAGER else reverse("cu-home")


class PortalAuthenticationForm(AuthenticationForm):
    """Signs in only the role this portal is for, with a sentence that points at the other portal."""

    role = Person.Role.MANAGER
    wrong_portal_message = "This is the Customer Manager portal for managers. Users sign in at /cu/login/."

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["username"].label = "ID"
        self.fields["username"].widget.attrs["placeholder"] = "e.g. rich@cm1-vertical"

    def clean(self):
        blocked = throttle.signin_blocked_for(self.request)
        if blocked:
            raise forms.ValidationError(throttle.blocked_message(blocked), code="throttled")
        try:
            return super().clean()
        except forms.ValidationError:
            throttle.signin_failed(self.request)
            raise

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if user.role != self.role:
            raise forms.ValidationError(self.wrong_portal_message, code="wrong_portal")


class UserPortalAuthenticationForm(PortalAuthenticationForm):
    role = Person.Role.USER
    wrong_portal_message = "This is the Customer User portal. Managers sign in at /login/."


class ManagerLoginView(auth_views.LoginView):
    form_class = PortalAuthenticationForm
    template_name = "registration/login.html"
    redirect_authenticated_user = True
    extra_context = {
        "portal_title": "Customer Manager",
        "portal_code": "cm",
        "other_portal": ("Customer User portal", "/cu/login/"),
    }

    def get_default_redirect_url(self):
        return home_url_for(self.request.user)

    def form_valid(self, form):
        throttle.signin_succeeded(self.request)
        return super().form_valid(form)


class UserLoginView(ManagerLoginView):
    form_class = UserPortalAuthenticationForm
    extra_context = {
        "portal_title": "Customer User",
        "portal_code": "cu",
        "other_portal": ("Customer Manager portal", "/login/"),
    }


@require_POST
def portal_logout(request):
    """End the portal session; after a Microsoft sign-in, offer Microsoft's sign-out too."""
    was_user = request.user.is_authenticated and request.user.role == Person.Role.USER
    idp_logout_url = request.session.get(IDP_LOGOUT_URL)
    logout(request)
    login_url = reverse("cu-login" if was_user else "login")
    if not idp_logout_url:
        return redirect(login_url)
    return render(request, "registration/logged_out.html",
                  {"login_url": login_url, "microsoft_logout_url": idp_logout_url})
