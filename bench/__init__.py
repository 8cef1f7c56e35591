"""`make bench`: speed and memory targets, measured against real PostgreSQL and Redis.

Each suite builds its data once in a dedicated database (`alt_bench` on the same server) and
reuses it on later runs; results are printed as a table and written to var/bench/<suite>.json.
"""
