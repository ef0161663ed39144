"""The built-in synthetic world: seeded users, items with text, interactions and scenarios."""
