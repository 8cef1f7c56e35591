"""Properties (listings) and their links to contacts."""
