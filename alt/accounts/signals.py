"""Signals alt.accounts sends to apps it must not import (DESIGN.md: dependencies point one way).

`member_removing` is sent by `membership_remove` inside its transaction, after the checks and
before the membership row goes, with keyword arguments:

- `workspace`: the Workspace,
- `user`: the User who is leaving it,
- `reassign_to`: the User (a remaining member) who takes over the leaving member's work,
- `actor`: the owner removing them.

Receivers (appointments reassigns the appointments, the Google Calendar integration disconnects
the leaving member's calendar, GC-7) run in the same transaction: if one raises, nothing is
removed.

`workspace_created` is sent by `workspace_create_for_user` inside its transaction, once the
workspace and its owner's membership exist, with keyword arguments:

- `workspace`: the new Workspace,
- `owner`: the User who owns it.

Receivers (contacts creates the default pipeline) run in the same transaction: if one raises, no
workspace is created.

`demo_seeded` is sent by contacts' demo seeding (`manage.py seed_demo`, the `make run` demo) once
it has added contacts to a workspace, with keyword arguments:

- `workspace`: the Workspace,
- `owner`: the User it was seeded for,
- `seed`: the int that makes the run reproducible.

Receivers add the demo rows of apps above contacts (appointments adds past and upcoming
appointments with the seeded contacts) and must add nothing when the workspace already has theirs.
"""

from __future__ import annotations

from django.dispatch import Signal

member_removing = Signal()
workspace_created = Signal()
demo_seeded = Signal()
