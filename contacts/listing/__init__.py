"""The contact list: search, filters, bulk actions, saved lists, CSV export."""
