"""Fill a workspace with a realistic San Diego agent's CRM (contacts.demo), fast enough for tens of
thousands of contacts. Tops up: a second run with the same numbers adds nothing."""

from __future__ import annotations

import time
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from alt.accounts.management.commands.ensure_demo_login import DEMO_EMAIL
from alt.accounts.models import Membership, User, Workspace
from alt.accounts.services import workspace_create_for_user
from contacts.demo.services import seed_workspace
from contacts.models import Contact

DEMO_WORKSPACE = "Demo Realty"


class Command(BaseCommand):
    help = "Create or top up a realistic demo workspace (default: the `make run` demo login)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--email", default=DEMO_EMAIL, help="the member to seed for")
        parser.add_argument("--workspace", default="", help="workspace name (created if missing)")
        parser.add_argument("--contacts", type=int, default=250)
        parser.add_argument("--properties", type=int, default=60)
        parser.add_argument("--activities-per-contact", type=int, default=8)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="do nothing when the workspace already has contacts (`make run` restarts)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if min(options["contacts"], options["properties"], options["activities_per_contact"]) < 0:
            raise CommandError("Counts can't be negative.")
        user, workspace = self._target(options["email"], options["workspace"])
        if options["if_empty"] and Contact.objects.for_workspace(workspace).exists():
            self.stdout.write(f"seed_demo: {workspace.name} already has contacts; nothing to do.")
            return
        started = time.monotonic()
        added = seed_workspace(
            workspace=workspace,
            owner=user,
            contacts=options["contacts"],
            properties=options["properties"],
            activities_per_contact=options["activities_per_contact"],
            seed=options["seed"],
        )
        self.stdout.write(
            f"seed_demo: {workspace.name}: +{added.contacts:,} contacts, "
            f"+{added.properties:,} properties, +{added.activities:,} timeline items, "
            f"+{added.notes:,} notes, +{added.tasks:,} tasks, +{added.links:,} property links "
            f"in {time.monotonic() - started:.1f}s"
        )

    def _target(self, email: str, workspace_name: str) -> tuple[User, Workspace]:
        if email.lower() == DEMO_EMAIL and not User.objects.filter(email=DEMO_EMAIL).exists():
            call_command("ensure_demo_login", stdout=self.stdout)
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            raise CommandError(f"No user with the email {email}.")
        wanted = workspace_name or (DEMO_WORKSPACE if user.email == DEMO_EMAIL else "")
        memberships = Membership.objects.filter(user=user).select_related("workspace")
        membership = (
            (memberships.filter(workspace__name__iexact=wanted) if wanted else memberships)
            .order_by("id")
            .first()
        )
        if membership is None:
            return user, workspace_create_for_user(user=user, name=wanted)
        return user, membership.workspace
