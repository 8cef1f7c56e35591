"""0007 gives every workspace the preset lead sources and points each contact at the source its
old `source` choice named."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("contacts", "0006_imp_lead_sources_and_import_jobs")]
AFTER = [("contacts", "0008_imp_contact_source_fk")]


@pytest.fixture
def back_to_the_latest_schema() -> Any:
    """Leave the test database at the newest migrations, as every other test expects: going back
    to 0006 also unapplies everything that depends on contacts (the inbox, Instagram)."""
    yield
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_existing_contacts_keep_their_source_as_a_lead_source(
    back_to_the_latest_schema: None,
) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old: Any = executor.loader.project_state(BEFORE).apps
    ws = old.get_model("accounts", "Workspace")._default_manager.create(name="Old")
    stage = old.get_model("contacts", "PipelineStage")._default_manager.create(
        workspace=ws, name="New"
    )
    contacts = old.get_model("contacts", "Contact")._default_manager
    for key in ("sms", "open_house", "import", "open_house"):
        contacts.create(workspace=ws, stage=stage, source=key, first_name=key)

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(AFTER)

    new: Any = executor.loader.project_state(AFTER).apps
    sources = new.get_model("contacts", "LeadSource")._default_manager.filter(workspace_id=ws.id)
    assert [s.name for s in sources.order_by("position")][-2:] == ["Import", "SMS"]
    assert sources.count() == 16
    rows = new.get_model("contacts", "Contact")._default_manager.filter(workspace_id=ws.id)
    assert sorted(rows.values_list("first_name", "source__key")) == [
        ("import", "import"),
        ("open_house", "open_house"),
        ("open_house", "open_house"),
        ("sms", "sms"),
    ]
