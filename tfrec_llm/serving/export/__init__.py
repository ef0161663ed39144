"""Writing, describing and validating TF Serving model versions (layout, warm-up, ops, models.config)."""
