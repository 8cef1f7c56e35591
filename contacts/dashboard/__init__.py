"""The dashboard: leads per stage, counts, my tasks, and the cards other apps register."""
