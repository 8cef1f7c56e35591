"""Instagram through Meta's "Instagram API with Instagram Login" (EXTERNAL_APIS.md §3, IG-1..IG-8)."""
