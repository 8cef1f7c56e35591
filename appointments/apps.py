from django.apps import AppConfig


class AppointmentsConfig(AppConfig):
    name = "appointments"

    def ready(self) -> None:
        from alt.accounts.signals import demo_seeded, member_removing
        from appointments.demo import seed_demo_appointments
        from appointments.receivers import reassign_appointments_of_leaving_member

        member_removing.connect(
            reassign_appointments_of_leaving_member, dispatch_uid="appointments.reassign"
        )
        demo_seeded.connect(seed_demo_appointments, dispatch_uid="appointments.demo")

        from alt.accounts.seams import (
            register_contact_panel,
            register_dashboard_card,
            register_next_appointments,
        )
        from appointments.panels import contact_panel, dashboard_card, next_appointments

        register_dashboard_card(dashboard_card)
        register_contact_panel(contact_panel)
        register_next_appointments(next_appointments)
