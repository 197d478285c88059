"""The operator console: auth and roles, registry and rules editing, audit, reports."""
