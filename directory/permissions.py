"""Who may see what: managers of a company in the CM portal, users in the Customer User portal."""
from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.urls import reverse


def _require_role(role: str, login_url_name: str):
    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            user = request.user
            if not user.is_authenticated:
                return redirect_to_login(request.get_full_path(), reverse(login_url_name))
            if user.role != role or not user.is_active:
                raise PermissionDenied("This page is not part of your portal.")
            return view(request, *args, **kwargs)

        return wrapper

    return decorator


manager_required = _require_role("manager", "login")
user_required = _require_role("user", "cu-login")
