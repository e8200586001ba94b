"""The MS AAD settings form: validation only; saving goes through aadsync.services."""
from django import forms

from aadsync.demo import demo_tenant_check
from aadsync.models import MAX_SCOPE_GROUPS, AadSettings
from aadsync.validators import guid_clean, guid_normalised

AZURE_HINT = "Registered in the Azure AD Portal"
USAGE_CHOICES = [("use", "Use"), ("not-use", "Not Use")]
EXPIRY_HINT = ("Read from Microsoft when the app may (permission Application.Read.All); otherwise type the date the "
               "Azure portal shows under Certificates & secrets, column Expires.")


class ScopeGroupsField(forms.CharField):
    """The chosen groups' object IDs, one a line (the page's script fills it from a search by name)."""

    def clean(self, value) -> list[str]:
        text = super().clean(value) or ""
        ids: list[str] = []
        for part in text.replace(",", "\n").split():
            guid = guid_normalised(part)
            if guid is None:
                raise forms.ValidationError(
                    f"“{part[:60]}” is not a group's object ID (a GUID): pick the groups with the search box, or "
                    "copy each group's Object ID from the Azure portal (Groups > the group > Overview).",
                    code="group_id")
            if guid not in ids:
                ids.append(guid)
        if len(ids) > MAX_SCOPE_GROUPS:
            raise forms.ValidationError(f"Choose at most {MAX_SCOPE_GROUPS} groups ({len(ids)} chosen).",
                                        code="too_many_groups")
        return ids


def secret_field(**kwargs) -> forms.CharField:
    """The client secret's field: typed, never sent back to the browser (the MS AAD page and the admin)."""
    return forms.CharField(label="Secret Code", required=False, max_length=1024, strip=True,
                           widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
                           **kwargs)


def _two_digit_choices(upper: int) -> list[tuple[int, str]]:
    return [(value, f"{value:02d}") for value in range(upper + 1)]


class AadSettingsForm(forms.Form):
    use_lookup = forms.TypedChoiceField(
        label="User Look-Up Usage",
        choices=USAGE_CHOICES,
        coerce=lambda value: value == "use",
        widget=forms.RadioSelect,
    )
    tenant_id = forms.CharField(label="Tenant ID", required=False, max_length=200, help_text=AZURE_HINT)
    client_id = forms.CharField(label="Client ID", required=False, max_length=200, help_text=AZURE_HINT)
    secret = secret_field()
    period = forms.ChoiceField(label="User Look-Up Period", choices=AadSettings.Period.choices)
    weekday = forms.TypedChoiceField(label="Weekday", choices=AadSettings.Weekday.choices, coerce=int)
    month_day = forms.TypedChoiceField(
        label="Day of month", choices=[(day, str(day)) for day in range(1, 32)], coerce=int
    )
    exec_hour = forms.TypedChoiceField(label="Hour", choices=_two_digit_choices(23), coerce=int)
    exec_minute = forms.TypedChoiceField(label="Min", choices=_two_digit_choices(59), coerce=int)
    exec_second = forms.TypedChoiceField(label="Sec", choices=_two_digit_choices(59), coerce=int)
    include_guests = forms.BooleanField(label="Include guest accounts", required=False)
    scope = forms.ChoiceField(label="Look-up scope", choices=AadSettings.Scope.choices, widget=forms.RadioSelect,
                              required=False)  # absent (an older form, the admin's import): All users
    scope_groups = ScopeGroupsField(
        label="Groups", required=False, max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        help_text=f"Up to {MAX_SCOPE_GROUPS} security or Microsoft 365 groups; members of nested groups count too.",
    )
    secret_expires_on = forms.DateField(
        label="Secret expires on",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=EXPIRY_HINT,
    )

    def __init__(self, *args, has_secret: bool = False, kept_secret: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.has_secret = has_secret
        self.kept_secret = kept_secret  # a secret typed into this form before is kept server-side for it
        self.fields["secret"].widget.attrs["placeholder"] = (
            "•••••••• stored — leave blank to keep it" if has_secret else "Paste the client secret value"
        )
        if kept_secret:
            self.secret_kept()

    def secret_kept(self) -> None:
        """Say on the Secret field that the secret typed before is kept server-side for this form (the page shows
        the sentence with id kept-secret)."""
        self.kept_secret = True
        attrs = self.fields["secret"].widget.attrs
        attrs["placeholder"] = "Kept from your last try — leave blank to use it"
        attrs["aria-describedby"] = "kept-secret"

    @classmethod
    def initial_from(cls, row: AadSettings) -> dict:
        initial = {name: getattr(row, name) for name in AadSettings.EDITABLE_FIELDS}
        initial["use_lookup"] = "use" if row.use_lookup else "not-use"
        initial["scope_groups"] = "\n".join(group["id"] for group in row.scope_groups)
        if row.secret_expires_at is not None:
            initial["secret_expires_on"] = row.secret_expires_at.astimezone(row.company.tzinfo).date()
        return initial

    def clean_scope(self) -> str:
        return self.cleaned_data["scope"] or AadSettings.Scope.ALL

    def clean_tenant_id(self):
        value = self.cleaned_data["tenant_id"].strip()
        if not value:
            return ""
        value = guid_clean(value, "Tenant ID")
        demo_tenant_check(value)  # demo mode (bin/run): only the offline demo Microsoft's tenant
        return value

    def clean_client_id(self):
        value = self.cleaned_data["client_id"].strip()
        return guid_clean(value, "Client ID") if value else ""

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if cleaned.get("use_lookup"):
            for name, label in (("tenant_id", "Tenant ID"), ("client_id", "Client ID")):
                if name in cleaned and not cleaned[name]:
                    self.add_error(name, f"{label} is required when User Look-Up Usage is Use.")
            if not cleaned.get("secret") and not self.has_secret and not self.kept_secret:
                self.add_error("secret",
                               "Paste the client secret value: it is required the first time Usage is set to Use.")
        groups = cleaned.get("scope_groups")
        if cleaned.get("scope") == AadSettings.Scope.GROUPS and groups is not None and not groups:
            self.add_error("scope_groups", "Choose at least one group, or set the look-up scope to All users.")
        return cleaned

    def settings_data(self) -> dict:
        """The cleaned values that map onto AadSettings fields (the secret and its expiry are handled apart)."""
        return {name: value for name, value in self.cleaned_data.items()
                if name not in ("secret", "secret_expires_on")}
