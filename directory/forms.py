"""Forms of the CM portal's directory screens: input validation only; saving goes through directory.services."""
from collections.abc import Mapping
from typing import TYPE_CHECKING

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.http import HttpRequest
from django.views.decorators.debug import sensitive_variables

from directory import throttle
from directory.models import Company, Contact, Person, Site, login_validator
from directory.passwords import PASSWORD_HINT
from directory.selectors import aad_contact_resolve

extension_validator = RegexValidator(r"^[0-9]{2,10}$", "Use 2 to 10 digits.")
PLEASE_SELECT = [("", "-- Please select --")]


class AadAccountField(forms.CharField):
    """The AAID ID: empty means "-- Direct Input --"; otherwise an object ID or user principal name.

    The page's script turns it into a searchable dropdown that submits the picked account's object ID;
    without the script it stays a text field that accepts either identifier.
    """

    def __init__(self, *, company: Company, **kwargs):
        self.company = company
        kwargs.setdefault("label", "AAID ID")
        kwargs.setdefault("required", False)
        kwargs.setdefault("max_length", 200)
        kwargs.setdefault(
            "help_text",
            "Leave empty for -- Direct Input --, or give the account's object ID or user principal name.",
        )
        super().__init__(**kwargs)

    def clean(self, value) -> Contact | None:
        value = super().clean(value)
        if not value:
            return None
        contact = aad_contact_resolve(company=self.company, value=value)
        if contact is None:
            raise forms.ValidationError(
                "No account synced from MS AAD has that object ID or user principal name in your Company "
                "Directory. Pick one from the list, or run a One-time Sync on the MS AAD page first.",
                code="unknown_aad_account",
            )
        return contact


# The mixins below are used with forms.Form; type checkers see them as forms, Python as plain mixins.
if TYPE_CHECKING:
    _FormBase = forms.Form
else:
    _FormBase = object


class BootstrapMixin(_FormBase):
    """Bootstrap classes on the widgets, and aria-describedby/is-invalid on fields that have errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.style_widgets()

    def style_widgets(self, errors: Mapping[str, object] | None = None):
        """Style every widget; `errors` (after validation) marks the fields that have some. Before validation,
        pass none: reading self.errors here would validate while a subclass may still be adding fields."""
        errors = errors or {}
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, (forms.RadioSelect, forms.CheckboxInput)):
                css = "form-check-input"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            elif widget.is_hidden:
                continue
            else:
                css = "form-control"
            if name in errors:
                css += " is-invalid"
                bound = self[name]
                described = [f"{bound.auto_id}_error"] + ([f"{bound.auto_id}_helptext"] if field.help_text else [])
                widget.attrs["aria-describedby"] = " ".join(described)
            widget.attrs["class"] = css

    def full_clean(self):
        super().full_clean()
        self.style_widgets(self.errors)


def add_service_errors(form: BootstrapMixin, error: ValidationError, aliases: dict | None = None) -> None:
    """Put a service's ValidationError next to the fields it names (or on top of the form)."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            field = (aliases or {}).get(name, name)
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error)
    form.style_widgets(form.errors)


def _aad_value(contact: Contact | None) -> str:
    return contact.object_id if contact is not None and contact.object_id else ""


class PasswordPairMixin(_FormBase):
    """Password and Confirm Password: they must match; the service applies the password rules
    (settings.AUTH_PASSWORD_VALIDATORS, directory/passwords.py)."""

    password_required = False

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        password, confirm = cleaned.get("password", ""), cleaned.get("password_confirm", "")
        if self.password_required and not password and "password" not in self.errors:
            self.add_error("password", "Give a password.")
        if password and password != confirm:
            self.add_error("password_confirm", "The two passwords do not match; type the same password twice.")
        return cleaned


def _password_fields(help_text: str):
    widget = forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"})
    return (
        forms.CharField(label="Password", required=False, strip=False, widget=widget, help_text=help_text),
        forms.CharField(label="Confirm Password", required=False, strip=False, widget=widget,
                        help_text="Type the password again."),
    )


class UserForm(BootstrapMixin, PasswordPairMixin, forms.Form):
    """The seed's user form: Extension, Name, Site, Group Member Type, Portal ID, passwords, E-mail, AAID ID,
    Package and User Type."""

    extension = forms.CharField(label="Extension", max_length=10, validators=[extension_validator])
    first_name = forms.CharField(label="First name", max_length=64)
    last_name = forms.CharField(label="Last name", max_length=64)
    site = forms.ModelChoiceField(label="Site", queryset=Site.objects.none(), empty_label=None)
    group_member_type = forms.ChoiceField(
        label="Group Member Type", choices=Person.GroupMemberType.choices, widget=forms.RadioSelect
    )
    login = forms.CharField(label="Portal ID", max_length=40, validators=[login_validator])
    password, password_confirm = _password_fields(PASSWORD_HINT)
    email = forms.EmailField(label="E-mail", max_length=256, required=False)
    package = forms.ChoiceField(label="Package", choices=PLEASE_SELECT + Person.Package.choices)
    user_type = forms.ChoiceField(label="User Type", choices=PLEASE_SELECT + Person.UserType.choices)
    # Set by the page once the manager has seen how AAD's values differ from the saved ones.
    aad_confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, company: Company, person: Person | None = None, **kwargs):
        self.company = company
        self.person = person
        if person is not None and "initial" not in kwargs:
            kwargs["initial"] = {
                **{field: getattr(person, field) for field in
                   ("extension", "first_name", "last_name", "group_member_type", "login", "email", "package",
                    "user_type")},
                "site": person.site_id,
                "aad_contact": _aad_value(person.aad_contact),
            }
        super().__init__(*args, **kwargs)
        self.password_required = person is None
        site_field = self.fields["site"]
        assert isinstance(site_field, forms.ModelChoiceField)
        site_field.queryset = company.sites.all()
        self.fields["aad_contact"] = AadAccountField(company=company)
        # Keep the seed's field order: AAID ID comes after E-mail.
        order = list(self.fields)
        order.remove("aad_contact")
        order.insert(order.index("email") + 1, "aad_contact")
        self.order_fields(order)
        if person is not None:
            self.fields["password"].help_text = f"{PASSWORD_HINT} Leave both empty to keep the current password."
        self.fields["site"].initial = self.fields["site"].initial or company.sites.values_list("pk", flat=True).first()
        self.style_widgets()

    def user_data(self) -> dict:
        return {field: self.cleaned_data[field] for field in
                ("extension", "first_name", "last_name", "site", "group_member_type", "login", "email", "package",
                 "user_type")}


class MyInformationForm(BootstrapMixin, PasswordPairMixin, forms.Form):
    """A manager's own details (the seed's My Information): Name, Email, Password, Confirm Password, AAID ID;
    a new password needs the current one (checked under the sign-in throttle: a borrowed session cannot guess it)."""

    name = forms.CharField(label="Name", max_length=24, help_text="At most 24 characters.")
    email = forms.EmailField(label="Email", max_length=256)
    current_password = forms.CharField(
        label="Current password", required=False, strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "current-password"}),
        help_text="Needed only to set a new password.",
    )
    password, password_confirm = _password_fields(f"{PASSWORD_HINT} Leave empty to keep it.")
    aad_confirmed = forms.BooleanField(required=False, widget=forms.HiddenInput)
    aad_alert_emails = forms.BooleanField(
        label="E-mail me about MS AAD look-ups", required=False,
        help_text="When look-ups start failing (at most one reminder a day), when they work again, and 30 and 7 days "
                  "before the client secret expires.")

    def __init__(self, *args, manager: Person, request: HttpRequest | None = None, **kwargs):
        self.manager = manager
        self.request = request
        kwargs.setdefault("initial", {"name": manager.display_name, "email": manager.email,
                                      "aad_contact": _aad_value(manager.aad_contact),
                                      "aad_alert_emails": manager.aad_alert_emails})
        super().__init__(*args, **kwargs)
        self.fields["password"].label = "New password"
        self.fields["password_confirm"].label = "Confirm new password"
        self.fields["aad_contact"] = AadAccountField(company=manager.company)
        self.style_widgets()

    @sensitive_variables("current")
    def clean(self):
        cleaned = super().clean()
        current = cleaned.get("current_password", "")
        if not cleaned.get("password") or "current_password" in self.errors:
            return cleaned
        if not current:
            self.add_error("current_password", "Type your current password to set a new one.")
        elif self.request is None:
            self.add_error("current_password", "The current password cannot be checked here.")
        else:
            self._check_current(current, self.request)
        return cleaned

    def _check_current(self, current: str, request: HttpRequest) -> None:
        try:
            attempt = throttle.attempt_begin(request=request, account=self.manager.username)
        except throttle.Throttled as throttled:
            self.add_error("current_password", throttled.message)
            return
        if self.manager.check_password(current):
            attempt.succeeded()
            return
        attempt.failed()
        self.add_error("current_password", "That is not your current password. Type it again, or leave the new "
                                           "password empty to keep your password.")


class ContactForm(BootstrapMixin, forms.Form):
    """A manually entered Company Directory entry (synced entries come from AAD and are read-only)."""

    first_name = forms.CharField(label="First name", max_length=64, required=False)
    last_name = forms.CharField(label="Last name", max_length=64, required=False)
    email = forms.EmailField(label="E-mail", max_length=256, required=False)
    office_phone = forms.CharField(label="Office phone", max_length=64, required=False)
    mobile_phone = forms.CharField(label="Mobile phone", max_length=64, required=False)

    def clean(self):
        super().clean()
        cleaned = self.cleaned_data
        if not self.errors and not any(cleaned.get(field) for field in ("first_name", "last_name", "email")):
            raise forms.ValidationError("Give at least a first name, a last name or an e-mail.")
        return cleaned


class DirectoryFilterForm(BootstrapMixin, forms.Form):
    """The directory page's search, Sync filter and sort (GET parameters; bad values fall back)."""

    q = forms.CharField(label="Search", required=False, max_length=100)
    sync = forms.ChoiceField(
        label="Sync",
        required=False,
        choices=[("", "All entries"), ("yes", "Yes (synced)"), ("active", "Yes, active in AAD"),
                 ("disabled", "Yes, disabled in AAD"), ("removed", "Yes, removed from AAD"),
                 ("out_scope", "Yes, out of the look-up's scope"), ("no", "No (typed in)")],
    )
    sort = forms.CharField(required=False, max_length=20)
