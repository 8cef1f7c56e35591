"""The pipeline's side of a new workspace (alt.accounts.signals.workspace_created): its stages and
its lead sources."""

from __future__ import annotations

from typing import Any

from alt.accounts.models import Workspace
from contacts.pipeline.services import lead_sources_create_defaults, pipeline_create_defaults


def create_default_pipeline(sender: Any, *, workspace: Workspace, **kwargs: Any) -> None:
    # In workspace_create_for_user's transaction: a workspace never exists without its stages.
    pipeline_create_defaults(workspace=workspace)


def create_default_lead_sources(sender: Any, *, workspace: Workspace, **kwargs: Any) -> None:
    # In workspace_create_for_user's transaction, like the stages.
    lead_sources_create_defaults(workspace=workspace)
