"""Synthetic partner data: realistic, seeded, never real personal data."""
