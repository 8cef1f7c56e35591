from typing import Any

from django.core.management.base import BaseCommand

from alt.lib.crypto import generate_key


class Command(BaseCommand):
    help = "Print a new `keyid:base64` entry for FIELD_ENCRYPTION_KEYS."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("key_id")

    def handle(self, *args: Any, key_id: str, **options: Any) -> None:
        self.stdout.write(generate_key(key_id))
