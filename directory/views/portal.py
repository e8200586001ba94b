"""Landing pages: the root redirect and the Customer User portal's own page."""
from django.shortcuts import redirect, render

from directory.permissions import user_required
from directory.views.auth import home_url_for


def root(request):
    if request.user.is_authenticated:
        return redirect(home_url_for(request.user))
    return redirect("login")


@user_required
def cu_home(request):
    return render(request, "cu/home.html", {"person": request.user})
