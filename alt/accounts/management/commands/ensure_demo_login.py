"""Create (once) the demo agent `make run` prints, with a verified email and a workspace."""

from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from alt.accounts.models import User
from alt.accounts.services import workspace_create_for_user

DEMO_EMAIL = "demo@agentleadtracker.test"
DEMO_PASSWORD = "demo-agent-2026"  # noqa: S105 (a local demo login, printed on the console)


class Command(BaseCommand):
    help = "Create the demo agent login for local runs."

    def handle(self, *args: Any, **options: Any) -> None:
        with transaction.atomic():
            user = User.objects.filter(email=DEMO_EMAIL).first()
            if user is None:
                user = User.objects.create_user(DEMO_EMAIL, DEMO_PASSWORD, full_name="Dana Demo")
                EmailAddress.objects.create(
                    user=user, email=DEMO_EMAIL, verified=True, primary=True
                )
                workspace_create_for_user(user=user, name="Demo Realty")
        self.stdout.write(self.style.SUCCESS(f"Demo login: {DEMO_EMAIL} / {DEMO_PASSWORD}"))
