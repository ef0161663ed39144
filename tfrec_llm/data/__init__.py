"""Data sources converted to the canonical schema (see `interaction_data`).

Entry point: `tfrec_llm.data.data_source.load_data`, which the CLI's
`--data` option calls.
"""
