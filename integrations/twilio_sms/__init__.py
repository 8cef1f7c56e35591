"""Two-way SMS through Twilio Programmable Messaging (EXTERNAL_APIS.md §4), in the same inbox as
Instagram: Settings -> SMS (the workspace's own Twilio account and number), sending through the
official `twilio` client, inbound and status webhooks, STOP/START/HELP, quiet hours, reminders."""
