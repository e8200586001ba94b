"""The MS AAD settings form: every bad input gets a message on its own field."""
import pytest

from aadsync.forms import AadSettingsForm

GUID_T = "43d42458-b9c9-4619-aa06-c8a1e2f3b4c5"
GUID_C = "c12be4c0-7943-4450-9b11-b35a1e2f3b4c"


def _data(**overrides):
    data = {
        "use_lookup": "use",
        "tenant_id": GUID_T,
        "client_id": GUID_C,
        "secret": "abc~123",
        "period": "daily",
        "weekday": "0",
        "month_day": "1",
        "exec_hour": "2",
        "exec_minute": "0",
        "exec_second": "0",
    }
    data.update(overrides)
    return data


def test_valid_input_cleans_to_typed_values():
    form = AadSettingsForm(_data(tenant_id=f"  {GUID_T.upper()} "))
    assert form.is_valid(), form.errors
    assert form.settings_data() == {
        "use_lookup": True,
        "tenant_id": GUID_T,
        "client_id": GUID_C,
        "period": "daily",
        "weekday": 0,
        "month_day": 1,
        "exec_hour": 2,
        "exec_minute": 0,
        "exec_second": 0,
        "include_guests": False,
        "scope": "all",
        "scope_groups": [],
    }


@pytest.mark.parametrize("bad", ["43d42458-b9c9-4619-aa06-c8", "not-a-guid", "43d42458b9c94619aa06c8a1e2f3b4c5x", "{43d42458-b9c9-4619-aa06-c8a1e2f3b4c5}"])
def test_malformed_tenant_id_is_refused_on_its_field(bad):
    form = AadSettingsForm(_data(tenant_id=bad))
    assert not form.is_valid()
    assert "must be a GUID" in form.errors["tenant_id"][0]
    assert set(form.errors) == {"tenant_id"}


def test_malformed_client_id_is_refused_on_its_field():
    form = AadSettingsForm(_data(client_id="c12be4c0"))
    assert not form.is_valid()
    assert "Client ID must be a GUID" in form.errors["client_id"][0]


@pytest.mark.parametrize("field,value", [("exec_hour", "24"), ("exec_minute", "60"), ("exec_second", "60"), ("exec_hour", "-1")])
def test_time_out_of_range_is_refused(field, value):
    form = AadSettingsForm(_data(**{field: value}))
    assert not form.is_valid()
    assert field in form.errors


@pytest.mark.parametrize("field,value", [("period", "yearly"), ("weekday", "7"), ("month_day", "32"), ("month_day", "0")])
def test_unknown_period_or_day_is_refused(field, value):
    form = AadSettingsForm(_data(**{field: value}))
    assert not form.is_valid()
    assert field in form.errors


def test_secret_is_required_the_first_time_usage_is_use():
    form = AadSettingsForm(_data(secret=""), has_secret=False)
    assert not form.is_valid()
    assert "required the first time" in form.errors["secret"][0]


def test_blank_secret_keeps_the_stored_one():
    form = AadSettingsForm(_data(secret=""), has_secret=True)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["secret"] == ""


def test_use_needs_tenant_and_client_ids():
    form = AadSettingsForm(_data(tenant_id="", client_id=""))
    assert not form.is_valid()
    assert "required when User Look-Up Usage is Use" in form.errors["tenant_id"][0]
    assert "required when User Look-Up Usage is Use" in form.errors["client_id"][0]


def test_not_use_accepts_empty_credentials():
    form = AadSettingsForm(_data(use_lookup="not-use", tenant_id="", client_id="", secret=""))
    assert form.is_valid(), form.errors


def test_secret_widget_never_renders_a_value():
    form = AadSettingsForm(_data(secret="typed-secret"), has_secret=True)
    form.is_valid()
    assert "typed-secret" not in str(form["secret"])
