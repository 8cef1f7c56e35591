"""Speed to lead: how fast a person answers a new lead, on any channel (Instagram now, SMS later).

A lead is a conversation, counted in the week of its first inbound message. Its speed is the time
from that message to the first reply a PERSON sent (Message.author == PERSON): keyword triggers
and AI auto-replies do not count, however fast. Medians per channel and per agent (the reply's
`sent_by`), this week against last week, in the viewer's time zone; and the leads still waiting
for an answer, oldest first (Conversation.awaiting_reply_since).

Computed in SQL (one aggregate with GROUPING SETS and percentile_cont, one for the waiting list,
one for the agents' names) and cached per workspace for a minute, or until a message arrives.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db import connection
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from alt.accounts.models import User, Workspace
from alt.lib.versioned_cache import cached, version_bump
from contacts.models import Conversation, Message

CACHE_SECONDS = 60
WAITING_SHOWN = 10

_CHANNEL_NAMES = dict(Conversation.Channel.choices)

# One row per (week), (week, channel) and (week, agent). A lead's first inbound message is a
# per-conversation MIN over the thread index; its first person reply after it, one LIMIT 1. The
# prefilter on last_inbound_at is exact: a first message inside the range implies a last one.
_SQL = """
WITH leads AS (
  SELECT c.channel, first_in.at AS first_in_at, reply.sent_at AS replied_at,
         reply.sent_by_id AS agent_id
  FROM {conversation} c
  CROSS JOIN LATERAL (
    SELECT min(m.sent_at) AS at FROM {message} m
    WHERE m.conversation_id = c.id AND m.direction = %(inbound)s
  ) first_in
  LEFT JOIN LATERAL (
    SELECT m.sent_at, m.sent_by_id FROM {message} m
    WHERE m.conversation_id = c.id AND m.direction = %(outbound)s AND m.author = %(person)s
      AND m.sent_at >= first_in.at
    ORDER BY m.sent_at, m.id LIMIT 1
  ) reply ON true
  WHERE c.workspace_id = %(workspace_id)s AND c.last_inbound_at >= %(last_start)s
    AND first_in.at >= %(last_start)s AND first_in.at < %(now)s
)
SELECT (first_in_at >= %(this_start)s) AS this_week, channel, agent_id,
       GROUPING(channel) AS by_all_channels, GROUPING(agent_id) AS by_all_agents,
       count(*) AS leads, count(replied_at) AS answered,
       percentile_cont(0.5) WITHIN GROUP (
         ORDER BY extract(epoch FROM replied_at - first_in_at)
       ) AS median_seconds
FROM leads
GROUP BY GROUPING SETS ((1), (1, channel), (1, agent_id))
"""


@dataclass
class Week:
    leads: int = 0
    answered: int = 0
    median_seconds: float | None = None  # over the answered leads; None: none answered


@dataclass
class SpeedRow:
    label: str
    this_week: Week = field(default_factory=Week)
    last_week: Week = field(default_factory=Week)


@dataclass
class WaitingLead:
    conversation_id: int
    name: str
    channel: str
    since: datetime
    url: str


@dataclass
class SpeedToLead:
    overall: SpeedRow
    channels: list[SpeedRow]
    agents: list[SpeedRow]
    waiting: list[WaitingLead]
    waiting_total: int

    @property
    def empty(self) -> bool:
        return not (
            self.overall.this_week.leads or self.overall.last_week.leads or self.waiting_total
        )


def speed_to_lead(
    *, workspace: Workspace, tz: ZoneInfo, now: datetime | None = None
) -> SpeedToLead:
    """Speed to lead of `workspace`, weeks starting Monday in `tz`, from the cache when fresh."""
    now = now or timezone.now()
    today = timezone.localdate(now, tz)
    this_start = datetime.combine(today - timedelta(days=today.weekday()), time.min, tzinfo=tz)
    return cached(
        _scope(workspace.id),
        f"{tz.key}:{this_start.date().isoformat()}",
        lambda: _compute(workspace, this_start, now),
        timeout=CACHE_SECONDS,
    )


def speed_to_lead_changed(workspace_id: int) -> None:
    """Forget the cached numbers of the workspace (a message arrived). One cache SET."""
    version_bump(_scope(workspace_id))


def message_received_receiver(sender: Any, message: Message, **kwargs: Any) -> None:
    speed_to_lead_changed(message.workspace_id)


def thread_url(conversation_id: int) -> str:
    """The inbox thread page; "/inbox/<id>/" until the inbox names its route `inbox:thread`."""
    try:
        return reverse("inbox:thread", kwargs={"conversation_id": conversation_id})
    except NoReverseMatch:
        return f"/inbox/{conversation_id}/"


def _scope(workspace_id: int) -> str:
    return f"speed-to-lead:{workspace_id}"


def _compute(workspace: Workspace, this_start: datetime, now: datetime) -> SpeedToLead:
    params: dict[str, Any] = {
        "inbound": Message.Direction.INBOUND,
        "outbound": Message.Direction.OUTBOUND,
        "person": Message.Author.PERSON,
        "workspace_id": workspace.id,
        "last_start": this_start - timedelta(days=7),
        "this_start": this_start,
        "now": now,
    }
    sql = _SQL.format(conversation=Conversation._meta.db_table, message=Message._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    overall = SpeedRow("All leads")
    channels: dict[str, SpeedRow] = {}
    agents: dict[int | None, SpeedRow] = {}
    for this_week, channel, agent_id, all_channels, all_agents, leads, answered, median in rows:
        week = Week(leads=leads, answered=answered, median_seconds=median)
        if all_channels and all_agents:
            row = overall
        elif not all_channels:
            row = channels.setdefault(channel, SpeedRow(_CHANNEL_NAMES.get(channel, channel)))
        else:
            if agent_id is None and not answered:  # leads no person answered yet
                continue
            # A None agent with answers: replies typed in Instagram's own app (echoes).
            row = agents.setdefault(agent_id, SpeedRow(""))
        if this_week:
            row.this_week = week
        else:
            row.last_week = week
    if agents:
        ids = [agent_id for agent_id in agents if agent_id is not None]
        names = dict(User.objects.filter(id__in=ids).values_list("id", "full_name"))
        for agent_id, row in agents.items():
            if agent_id is None:
                row.label = "In the Instagram or phone app"
            else:
                row.label = names.get(agent_id) or "A former teammate"
    waiting, waiting_total = _waiting(workspace)
    return SpeedToLead(
        overall=overall,
        channels=sorted(channels.values(), key=lambda r: r.label),
        agents=sorted(agents.values(), key=lambda r: r.label.lower()),
        waiting=waiting,
        waiting_total=waiting_total,
    )


def _waiting(workspace: Workspace) -> tuple[list[WaitingLead], int]:
    """The oldest unanswered leads, on the (workspace, awaiting_reply_since) index, and how many."""
    waiting = (
        Conversation.objects.for_workspace(workspace)
        .filter(awaiting_reply_since__isnull=False)
        .select_related("contact")
        .order_by("awaiting_reply_since", "id")
    )
    shown = list(waiting[:WAITING_SHOWN])
    total = len(shown) if len(shown) < WAITING_SHOWN else waiting.count()
    leads = [
        WaitingLead(
            conversation_id=c.id,
            name=_display_name(c),
            channel=_CHANNEL_NAMES.get(c.channel, c.channel),
            since=c.awaiting_reply_since,
            url=thread_url(c.id),
        )
        for c in shown
        if c.awaiting_reply_since is not None
    ]
    return leads, total


def _display_name(conversation: Conversation) -> str:
    contact = conversation.contact
    if contact is not None:
        name = f"{contact.first_name} {contact.last_name}".strip()
        if name:
            return name
    if conversation.party_name:
        return conversation.party_name
    if conversation.party_handle:
        return f"@{conversation.party_handle}"
    return conversation.party_id
