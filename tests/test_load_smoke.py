"""bench/load_test.py's driver for a few seconds against a live test server: every request answers as expected."""
import importlib.util
import sys
from pathlib import Path

import pytest

from directory.models import Contact
from tests.aadsync.run_helpers import configure, published  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.django_db(transaction=True)


def _load_test_module():
    if "load_test" not in sys.modules:  # bench/ is not a package; dataclasses need the module registered
        spec = importlib.util.spec_from_file_location("load_test", ROOT / "bench" / "load_test.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules["load_test"] = module
        spec.loader.exec_module(module)
    return sys.modules["load_test"]


def test_a_short_load_answers_every_request_and_queues_one_run_per_wave_at_most(
        live_server, settings, company, make_manager, published):
    load_test = _load_test_module()
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # sign-ins are not the point
    Contact.objects.bulk_create([
        Contact(company=company, first_name=first, last_name=last, email=f"{first}.{last}{n}@smoke.example".lower(),
                synced=True, object_id=f"00000000-0000-4000-8000-{n:012d}", aad_state="active")
        for n, (first, last) in enumerate(zip(load_test.FIRST * 2, load_test.LAST * 2, strict=False))
    ])
    configure(company)  # complete MS AAD settings; `published` keeps runs away from any broker (they stay queued)
    users = [make_manager(company, login=f"vu{n}", name=f"vu{n}", email=f"vu{n}@smoke.example",
                          password=load_test.PASSWORD).username for n in range(3)]
    clickers = [make_manager(company, login=f"click{n}", name=f"click{n}", email=f"click{n}@smoke.example",
                             password=load_test.PASSWORD).username for n in range(3)]
    plan = load_test.Plan(base_url=live_server.url, verify=True, users=users, clickers=clickers, duration=3.0,
                          ramp=0.3, think=0.05, sync_every=1.2, last_page=3, keystroke_pause=0.05)

    result = load_test.drive(plan)

    assert result["total"]["errors"] == 0, {name: row["error_samples"] for name, row in result["rows"].items()}
    assert {load_test.SIGN_IN, load_test.DIRECTORY_FIRST, load_test.DIRECTORY_SEARCH, load_test.DROPDOWN,
            load_test.SYNC_CLICK, load_test.SYNC_STATUS} <= set(result["rows"])
    waves = result["waves"]
    assert waves["count"] >= 2
    assert waves["accepted"] == 1 == len(published)  # the run stays queued: every later click is "already running"
    assert waves["already_running"] == waves["clicks"] - 1
    assert load_test.verdicts(result) == [] or all("p95" in line for line in load_test.verdicts(result))
