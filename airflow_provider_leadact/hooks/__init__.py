"""Hooks of the LeadSquared provider."""
