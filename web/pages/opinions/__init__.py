"""Duty-station pages: opinion items, their statistics and categories."""
