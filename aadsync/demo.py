"""Demo mode (bin/run): Microsoft is the offline demo Microsoft, which must never be handed a real tenant."""
from django.conf import settings
from django.core.exceptions import ValidationError

from aadsync.models import AadSettings


def demo_tenant_refusal(tenant_id: str) -> str | None:
    """The sentence refusing `tenant_id` in demo mode (any tenant but the demo one), else None."""
    if not settings.DEMO_MODE or not tenant_id or tenant_id.strip().lower() == settings.DEMO_TENANT_ID:
        return None
    return (
        f"Demo mode: this portal talks to the offline demo Microsoft, which holds only the demo tenant "
        f"{settings.DEMO_TENANT_ID}. To connect your own tenant, stop bin/run and start it again with "
        "bin/run --no-demo (README, Quick start)."
    )


def demo_tenant_check(tenant_id: str) -> None:
    refusal = demo_tenant_refusal(tenant_id)
    if refusal:
        raise ValidationError(refusal, code="demo_tenant")


def real_tenants_in_use() -> list[tuple[str, str]]:
    """(company slug, tenant ID) of every company whose look-ups (Use) name a tenant other than the demo one: in demo
    mode their look-ups and sign-ins would go to the demo Microsoft."""
    rows = (AadSettings.objects.filter(use_lookup=True).exclude(tenant_id=settings.DEMO_TENANT_ID)
            .exclude(tenant_id="").select_related("company").order_by("company__slug"))
    return [(row.company.slug, row.tenant_id) for row in rows]
