"""The inbox (under /inbox/)."""

from django.urls import URLPattern, URLResolver, path

from contacts.inbox import views

app_name = "inbox"

urlpatterns: list[URLPattern | URLResolver] = [
    path("", views.inbox_list, name="list"),
    path("<int:conversation_id>/", views.thread, name="thread"),
    path("<int:conversation_id>/poll/", views.thread_poll, name="poll"),
    path("<int:conversation_id>/reply/", views.reply, name="reply"),
    path(
        "<int:conversation_id>/messages/<int:message_id>/retry/",
        views.message_retry,
        name="retry",
    ),
    path("<int:conversation_id>/contact/", views.link_contact, name="link_contact"),
    path("<int:conversation_id>/lead/", views.create_lead, name="create_lead"),
]
