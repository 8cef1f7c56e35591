from django.urls import path

from appointments import views

app_name = "appointments"

urlpatterns = [
    path("", views.appointment_list, name="list"),
    path("week/", views.appointment_week, name="week"),
    path("new/", views.appointment_create, name="create"),
    path("<int:appointment_id>/", views.appointment_edit, name="edit"),
    path("<int:appointment_id>/delete/", views.appointment_delete, name="delete"),
    path("<int:appointment_id>/retry/", views.appointment_retry, name="retry"),
    path("<int:appointment_id>/restore/", views.appointment_restore, name="restore"),
]
