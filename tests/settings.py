"""Settings for the test run: the project's own, with what only makes tests faster (as cookiecutter-django does)."""
from cmportal.settings import *  # noqa: F403

# Hashing a password with PBKDF2's 1,000,000 iterations is the point in production and a third of a second per
# person created in a test. Worker processes the tests start use cmportal.settings, unchanged.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
