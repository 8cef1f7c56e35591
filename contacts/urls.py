from django.urls import path

from contacts import views as detail
from contacts.bulk import views as bulk
from contacts.imports import views as imports
from contacts.listing import views as listing
from contacts.merging import views as merge
from contacts.pipeline import views as setup
from contacts.properties import views as properties
from contacts.trash import views as trash

app_name = "contacts"

urlpatterns = [
    # listing/: the contact list, search, filters, bulk actions, saved lists, export
    path("contacts/", listing.contact_list, name="list"),
    path("contacts/export.csv", listing.contact_export, name="export"),
    path("contacts/bulk/", listing.contact_bulk, name="bulk"),
    path("contacts/bulk/undo/", listing.contact_bulk_undo, name="bulk_undo"),
    # bulk/: bulk actions on every contact matching a filter, run as jobs
    path("contacts/bulk/jobs/", bulk.bulk_job_list, name="bulk_jobs"),
    path("contacts/bulk/jobs/<int:bulk_job_id>/", bulk.bulk_job_detail, name="bulk_job"),
    path("contacts/bulk/jobs/<int:bulk_job_id>/retry/", bulk.bulk_job_retry, name="bulk_job_retry"),
    path("contacts/bulk/jobs/<int:bulk_job_id>/undo/", bulk.bulk_job_undo, name="bulk_job_undo"),
    path(
        "contacts/bulk/jobs/<int:bulk_job_id>/undo/retry/",
        bulk.bulk_job_undo_retry,
        name="bulk_job_undo_retry",
    ),
    # trash/: recently deleted contacts, restorable within the undo window
    path("contacts/deleted/", trash.contact_trash, name="trash"),
    path("contacts/deleted/restore/", trash.contact_trash_restore, name="trash_restore"),
    path("contacts/lists/", listing.saved_list_create, name="saved_list_create"),
    path(
        "contacts/lists/<int:saved_list_id>/delete/",
        listing.saved_list_delete,
        name="saved_list_delete",
    ),
    # views.py: create, the contact page, in-place edits, timeline, notes, tasks
    path("contacts/new/", detail.contact_create, name="create"),
    path("contacts/<int:contact_id>/", detail.contact_detail, name="detail"),
    path(
        "contacts/<int:contact_id>/edit/<slug:section>/",
        detail.contact_edit_section,
        name="edit_section",
    ),
    path("contacts/<int:contact_id>/timeline/", detail.contact_timeline, name="timeline"),
    path("contacts/<int:contact_id>/notes/", detail.note_create, name="note_create"),
    path("contacts/<int:contact_id>/tasks/", detail.task_create, name="task_create"),
    path("contacts/<int:contact_id>/delete/", detail.contact_delete, name="delete"),
    path("contacts/<int:contact_id>/restore/", detail.contact_restore, name="restore"),
    path("tasks/", detail.task_list, name="tasks"),
    path("tasks/<int:task_id>/complete/", detail.task_complete_view, name="task_complete"),
    path("tasks/<int:task_id>/edit/", detail.task_edit, name="task_edit"),
    path("tasks/<int:task_id>/delete/", detail.task_delete_view, name="task_delete"),
    path("tasks/<int:task_id>/stop/", detail.task_stop_repeating_view, name="task_stop"),
    # merging/: duplicates and merging
    path("contacts/duplicates/", merge.duplicate_list, name="duplicates"),
    path(
        "contacts/duplicates/<int:flag_id>/dismiss/",
        merge.duplicate_dismiss,
        name="duplicate_dismiss",
    ),
    path("contacts/<int:contact_id>/merge/<int:other_id>/", merge.contact_merge_view, name="merge"),
    path("contacts/merges/<int:merge_id>/undo/", merge.merge_undo_view, name="merge_undo"),
    # imports/: CSV import
    path("contacts/import/", imports.import_upload, name="import_upload"),
    path("contacts/import/<int:import_id>/", imports.import_detail, name="import_detail"),
    path(
        "contacts/import/<int:import_id>/progress/", imports.import_progress, name="import_progress"
    ),
    path(
        "contacts/import/<int:import_id>/rejected.csv",
        imports.import_rejected,
        name="import_rejected",
    ),
    path("contacts/import/<int:import_id>/undo/", imports.import_undo, name="import_undo"),
    # properties/
    path("properties/", properties.property_list, name="property_list"),
    path("properties/new/", properties.property_create, name="property_create"),
    path("properties/<int:property_id>/", properties.property_detail, name="property_detail"),
    path("properties/<int:property_id>/edit/", properties.property_edit, name="property_edit"),
    path(
        "properties/<int:property_id>/links/",
        properties.property_link_create,
        name="property_link_create",
    ),
    # pipeline/: the pipeline board
    path("pipeline/", setup.board, name="board"),
    path("pipeline/stages/<int:stage_id>/", setup.board_column, name="board_column"),
    path("pipeline/move/", setup.board_move, name="board_move"),
    # pipeline/: pipeline stages and custom fields (Settings)
    path("settings/pipeline/", setup.pipeline_edit, name="pipeline"),
    path("settings/lead-sources/", setup.lead_sources_edit, name="lead_sources"),
    path("settings/custom-fields/", setup.custom_fields_edit, name="custom_fields"),
]
