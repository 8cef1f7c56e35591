"""Views of the contacts app, one module per area: listing, detail, properties, imports, merge,
dashboard, setup (pipeline and custom fields)."""
