"""Telling people: the in-app inbox and the notices sent about sessions."""
