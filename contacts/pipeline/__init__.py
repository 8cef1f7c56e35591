"""Settings of the CRM: pipeline stages and custom contact fields."""
