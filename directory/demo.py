"""The demo company a fresh checkout signs in to: Vertical Inc, manager rich@cm1-vertical and two phone users."""
from django.db import transaction

from directory.models import Company, Person
from directory.services import company_create, manager_create, user_create

DEMO_SLUG = "cm1-vertical"
DEMO_MANAGER_LOGIN = "rich"
DEMO_PASSWORD = "Demo-pass1"  # noqa: S105 - the documented demo sign-in (CM_PASSWORD replaces it), local only
DEMO_USERS = (  # phone users; 27728 is linked to a demo Microsoft account when the demo Microsoft runs
    {"extension": "27728", "login": "27728", "first_name": "Minsu", "last_name": "Rossi",
     "email": "minsu@vertical.com"},
    {"extension": "27729", "login": "27729", "first_name": "Hana", "last_name": "Lee", "email": "hana@vertical.com"},
)


@transaction.atomic
def demo_company_seed(*, password: str = DEMO_PASSWORD) -> Company | None:
    """On a database without companies: the demo company, its manager and phone users. Else None (nothing done)."""
    if Company.objects.exists():
        return None
    company = company_create(slug=DEMO_SLUG, name="Vertical Inc", timezone="Asia/Seoul")
    manager_create(company=company, login=DEMO_MANAGER_LOGIN, name="rich", email="rich@vertical.com",
                   password=password)
    site = company.sites.first()
    for user in DEMO_USERS:
        user_create(company=company, password=password, data={
            **user, "site": site, "group_member_type": Person.GroupMemberType.SINGLE,
            "package": Person.Package.STANDARD, "user_type": Person.UserType.NORMAL,
        })
    return company
