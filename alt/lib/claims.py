"""Claiming rows for a periodic job, shared by the task and appointment reminders.

A job claims its rows before it works on them: one conditional UPDATE marks them and returns
their ids, so two beats or two workers running at once never claim the same row twice. In
alt/lib because both contacts and appointments claim this way.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import connection


def claim_by_workspace(sql: str, params: dict[str, Any]) -> dict[int, list[int]]:
    """Run `sql`, an UPDATE … RETURNING id, workspace_id, and return {workspace_id: [ids]} of
    the rows it claimed."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    claimed: dict[int, list[int]] = defaultdict(list)
    for row_id, workspace_id in rows:
        claimed[workspace_id].append(row_id)
    return dict(claimed)
