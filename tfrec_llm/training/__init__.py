"""Training a model: trainer, model building, artifacts, resume, distribution, data preparation, evaluation glue."""
