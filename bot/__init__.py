"""tsunagari — the service: conversation core, sessions, inbox, wiring."""
