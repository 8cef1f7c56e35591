"""Local emulators of ALT's providers: real HTTP servers on loopback that speak each API's wire
format (../shared/EXTERNAL_APIS.md), record every request and can be told to fail.

Tests start them through pytest fixtures (tests/conftest.py); `make run` starts them all with
`python -m integrations.sandbox serve` when no real credentials are configured.
"""
