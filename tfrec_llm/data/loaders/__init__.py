"""Readers of real data into the canonical schema.

MovieLens, users' CSV/Parquet, TFDS; row checks and counted fallbacks.
"""
