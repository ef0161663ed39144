"""Export of trained models as TF Serving SavedModels, and serving from them.

- `saved_model_exporter.export_models`: model dir -> `<export_dir>/<model>/<version>/`
  (retrieval, ranking, user_encoder, item_encoder, item_text_encoder), with
  warm-up requests, `models.config` and validation in fresh processes;
- `catalog_growth.add_items`: new items from text, without retraining;
- `saved_model_recommender.recommend`: recommendations from an export alone;
- `serving_benchmark`: latency/throughput of the exported retrieval top-k.

Kept import-free: importing `tfrec_llm.serving` loads no TensorFlow.
"""
