"""Demo data: seed a workspace with realistic contacts, properties and timelines."""
