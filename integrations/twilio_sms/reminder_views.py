"""Settings -> SMS -> Reminders (/settings/sms/reminders/): when clients get a text before their
appointment. Kept apart from the SMS settings views (integrations/twilio_sms/views.py)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from alt.accounts.decorators import WorkspaceRequest, workspace_required
from integrations.twilio_sms.models import TwilioAccount
from integrations.twilio_sms.reminders import LEAD_CHOICES, reminder_lead_set


class ReminderLeadForm(forms.Form):
    lead = forms.TypedChoiceField(
        label="Text the client",
        choices=[("", "Off: no reminder texts"), *LEAD_CHOICES],
        coerce=int,
        empty_value=None,
        required=False,
    )


@require_http_methods(["GET", "POST"])
@workspace_required
def reminder_settings(request: WorkspaceRequest) -> HttpResponse:
    account = (
        TwilioAccount.objects.for_workspace(request.workspace)
        .exclude(status=TwilioAccount.Status.REMOVED)
        .first()
    )
    may_manage = request.membership.is_owner
    initial = {"lead": account.reminder_lead_minutes if account else None}
    form = ReminderLeadForm(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST":
        if not may_manage or account is None:
            form.add_error(
                None, "Only the workspace owner can change this, once a number is set up."
            )
        elif form.is_valid():
            reminder_lead_set(account=account, lead_minutes=form.cleaned_data["lead"])
            messages.success(request, "Saved your reminder texts setting.")
            return redirect("twilio_sms:reminders")
    lead = account.reminder_lead_minutes if account else None
    current = dict(LEAD_CHOICES).get(lead, "") if lead else "Off: no reminder texts"
    context = {"form": form, "account": account, "may_manage": may_manage, "current": current}
    status = 400 if form.errors else 200
    return render(request, "twilio_sms/reminders.html", context, status=status)
