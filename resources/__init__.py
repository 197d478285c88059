"""The shared registry: models, schedules, catalog snapshot, import/export, seed data."""
