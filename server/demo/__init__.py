"""The demo street seeded into an empty database."""
