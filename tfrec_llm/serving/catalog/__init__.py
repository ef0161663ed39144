"""Catalog lookups of exports: item ids and texts, user context, history encoding, catalog growth."""
