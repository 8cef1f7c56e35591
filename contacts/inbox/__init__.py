"""The inbox, channel-agnostic: Conversation and Message will live here.

Empty until the Instagram and SMS integrations arrive. Each channel's integration package
(integrations/instagram, integrations/twilio_sms) ingests into these models through a service here,
so the inbox page never knows which provider a message came from.
"""
