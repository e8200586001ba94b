"""Password sign-in for the CM portal (managers) and the Customer User portal (users), and the logout."""
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.core.exceptions import NON_FIELD_ERRORS
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from directory.models import Person
from directory.signin_forms import PortalAuthenticationForm, UserPortalAuthenticationForm

# Set by an identity provider's sign-in (aadlogin): its sign-out URL, offered after the portal's own logout.
IDP_LOGOUT_URL = "idp_logout_url"


def home_url_for(person) -> str:
    """Where a signed-in person belongs: managers in the CM portal, users in the Customer User portal."""
    return reverse("aad-settings") if person.role == Person.Role.MANAGER else reverse("cu-home")


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

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "throttled") and form.throttled is not None:
            response.status_code = 429
            response["Retry-After"] = str(form.throttled.seconds)
        return response


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
