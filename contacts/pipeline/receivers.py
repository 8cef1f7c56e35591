"""The pipeline's side of a new workspace (alt.accounts.signals.workspace_created)."""

from __future__ import annotations

from typing import Any

from alt.accounts.models import Workspace
from contacts.pipeline.services import pipeline_create_defaults


def create_default_pipeline(sender: Any, *, workspace: Workspace, **kwargs: Any) -> None:
    # In workspace_create_for_user's transaction: a workspace never exists without its stages.
    pipeline_create_defaults(workspace=workspace)
