"""The inbox, channel-agnostic: Conversation and Message (contacts/models.py) and what acts on them.

Each channel's integration package (integrations/instagram, integrations/twilio_sms later)
ingests into these models through contacts/inbox/services.py and registers its sender in
contacts/inbox/channels.py, so the inbox page never knows which provider a message came from.
"""
