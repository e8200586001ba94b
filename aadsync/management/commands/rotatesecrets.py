"""rotatesecrets: re-encrypt every stored client secret with the newest FIELD_ENCRYPTION_KEY."""
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from aadsync import crypto
from aadsync.models import AadSettings


class Command(BaseCommand):
    help = "Re-encrypt all stored client secrets with the first FIELD_ENCRYPTION_KEY (then the old keys can go)."

    @transaction.atomic
    def handle(self, *args, **options):
        rotated = 0
        for row in AadSettings.objects.select_for_update().exclude(secret_encrypted=""):
            try:
                row.secret_encrypted = crypto.rotate(row.secret_encrypted)
            except crypto.SecretUnreadable:  # written with a key that is no longer configured
                raise CommandError(
                    f"The secret of {row.company.slug} cannot be read with the configured keys; "
                    "nothing was changed. Add the old key back after the new one and run again."
                ) from None
            row.save(update_fields=["secret_encrypted"])
            rotated += 1
        self.stdout.write(f"Re-encrypted {rotated} client secret(s) with the newest key.")
