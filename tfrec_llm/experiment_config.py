"""Configuration as data: one dataclass per concern, loaded from JSON.

`ExperimentConfig` holds everything a run needs; `config.json` in every
output directory is its `to_dict()`, and `--config FILE` accepts the same
shape (any subset of keys). Unknown keys and bad values raise
`ConfigError` naming the key, so typos never pass silently.

Example:
    config = ExperimentConfig.from_dict({"train": {"epochs": 5}})
    config.text.mode  # "frozen"
"""

import dataclasses
import json

from tfrec_llm.config.adapt_config import ADAPT_PARTS, MATCH_ITEMS_BY, AdaptConfig
from tfrec_llm.config.config_checks import ConfigError, section_from_dict
from tfrec_llm.config.data_config import COLUMN_ROLES, SPLITS, DataConfig
from tfrec_llm.config.model_config import FUSIONS, NEGATIVES, SCENARIO_HEADS, TRAINING_TARGETS, USER_TOWERS, ModelConfig
from tfrec_llm.config.text_config import DEFAULT_TEXT_ENCODER, TEXT_MODES, TextConfig
from tfrec_llm.config.train_config import STRATEGIES, TrainConfig
from tfrec_llm.config.update_config import UpdateConfig

__all__ = [  # the sections live in tfrec_llm/config/; importing them from here keeps working
    "ADAPT_PARTS",
    "COLUMN_ROLES",
    "DEFAULT_TEXT_ENCODER",
    "FUSIONS",
    "MATCH_ITEMS_BY",
    "NEGATIVES",
    "SCENARIO_HEADS",
    "SPLITS",
    "STRATEGIES",
    "TEXT_MODES",
    "TRAINING_TARGETS",
    "USER_TOWERS",
    "AdaptConfig",
    "ConfigError",
    "DataConfig",
    "ExperimentConfig",
    "ModelConfig",
    "TextConfig",
    "TrainConfig",
    "UpdateConfig",
    "read_config_json",
]


@dataclasses.dataclass
class ExperimentConfig:
    """Everything one training run needs; `config.json` holds its dict."""

    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    text: TextConfig = dataclasses.field(default_factory=TextConfig)
    model: ModelConfig = dataclasses.field(default_factory=ModelConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)

    def validate(self) -> "ExperimentConfig":
        for section in (self.data, self.text, self.model, self.train):
            section.validate()
        if self.model.cold_item_ids == "from_text" and self.text.mode != "frozen":
            raise ConfigError(
                f'model.cold_item_ids "from_text" maps the frozen BERT vectors: it needs text.mode "frozen", '
                f"got {self.text.mode!r}."
            )
        return self

    @property
    def negatives(self) -> str:
        """`model.negatives` with "auto" resolved, catalog size not considered (see `negatives_for`)."""
        return self.negatives_for(0)

    def negatives_for(self, num_items: int) -> str:
        """`model.negatives` with "auto" resolved for a catalog of `num_items` items.

        Example:
            >>> ExperimentConfig().negatives_for(1_000_000)
            'in_batch'
        """
        if self.model.negatives != "auto":
            return self.model.negatives
        finetunes = self.model.use_text and self.text.mode in ("finetune", "lora")
        too_large = num_items > self.model.full_catalog_max_items
        return "in_batch" if finetunes or too_large else "full_catalog"

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "ExperimentConfig":
        if not isinstance(values, dict):
            raise ConfigError(f"A config must be a JSON object, got {type(values).__name__}.")
        sections = {f.name: f.type for f in dataclasses.fields(cls)}
        unknown = set(values) - set(sections)
        if unknown:
            raise ConfigError(f"Unknown config sections {sorted(unknown)}; valid: {sorted(sections)}.")
        built = {}
        for field in dataclasses.fields(cls):
            section_cls = field.default_factory().__class__
            built[field.name] = section_from_dict(field.name, section_cls, values.get(field.name, {}))
        return cls(**built).validate()

    @classmethod
    def from_json_file(cls, path: str) -> "ExperimentConfig":
        return cls.from_dict(read_config_json(path))

    def to_json_file(self, path: str):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_dict(), f, indent=2, sort_keys=True)

    def updated(self, overrides: dict) -> "ExperimentConfig":
        """A copy with `{"section": {"key": value}}` overrides applied."""
        merged = self.to_dict()
        if not isinstance(overrides, dict):
            raise ConfigError("Config overrides must be an object of sections.")
        for section, values in overrides.items():
            if section not in merged:
                raise ConfigError(f"Unknown config section {section!r}.")
            if not isinstance(values, dict):
                raise ConfigError(f"Overrides of config section {section!r} must be an object.")
            merged[section].update(values)
        return ExperimentConfig.from_dict(merged)


def read_config_json(path: str):
    """The JSON value of a config file; a `ConfigError` naming the file (and line) when it cannot be read."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError as error:
        raise ConfigError(f"Config file not found: {path}") from error
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: invalid JSON at line {error.lineno}: {error.msg}") from error
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start}).") from error
    except RecursionError as error:
        raise ConfigError(f"{path}: JSON nested too deeply.") from error
    except OSError as error:
        raise ConfigError(f"Cannot read config file {path}: {error.strerror or error}.") from error
