"""Template context for every page: whether the portal runs bin/run's offline demo (the pages' "Demo mode" banner)."""
from django.conf import settings


def demo(request) -> dict:
    if not settings.DEMO_MODE:
        return {"demo_mode": False}
    return {"demo_mode": True, "demo_tenant_id": settings.DEMO_TENANT_ID, "demo_account": settings.DEMO_ACCOUNT}
