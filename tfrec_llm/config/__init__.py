"""The configuration sections, one module each; `tfrec_llm.experiment_config.ExperimentConfig` joins them.

`data_config`, `text_config`, `model_config` and `train_config` are the
sections of a training run's `config.json`; `adapt_config` and
`update_config` configure `adapt` and `update`; `config_checks` holds
`ConfigError` and the checks that name the offending key.
"""
