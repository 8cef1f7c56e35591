from django.urls import path

from alt.accounts import views

app_name = "accounts"

urlpatterns = [
    path("settings/", views.settings_index, name="settings"),
    path("settings/account/", views.account, name="account"),
    path("settings/workspace/", views.workspace, name="workspace"),
    path("settings/workspace/invites/", views.invite_new, name="invite_new"),
    path(
        "settings/workspace/invites/<int:invite_id>/revoke/",
        views.invite_revoke_view,
        name="invite_revoke",
    ),
    path(
        "settings/workspace/members/<int:membership_id>/remove/",
        views.member_remove,
        name="member_remove",
    ),
    path("settings/workspace/switch/", views.workspace_switch, name="workspace_switch"),
    path("workspaces/new/", views.workspace_new, name="workspace_new"),
    path("invites/<str:token>/", views.invite_accept_view, name="invite_accept"),
]
