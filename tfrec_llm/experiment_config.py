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
import math
import re
import typing
from typing import List, Optional


class ConfigError(ValueError):
    """A configuration key or value is invalid."""


TEXT_MODES = ("frozen", "finetune", "lora")
SPLITS = ("leave_last_out", "time_cut", "random")
STRATEGIES = ("default", "mirrored", "multiworker", "tpu")
# The roles of `data.columns` (the same as `tfrec_llm.data.loaders.tabular_columns.COLUMN_ROLES`).
COLUMN_ROLES = ("user_id", "item_id", "timestamp", "label", "scenario", "catalog_item_id", "text", "attributes")
SCENARIO_NAME = re.compile(r"[A-Za-z0-9_.-]+")  # a `data.scenario_sources` name (ids become "<name>/<id>")
USER_TOWERS = ("lstm", "attention")
TRAINING_TARGETS = ("every_position", "last_position")
NEGATIVES = ("auto", "full_catalog", "in_batch")
FUSIONS = ("sum", "gate", "paths")
SCENARIO_HEADS = ("none", "star")


@dataclasses.dataclass
class DataConfig:
    """Where the interactions come from and how they are split.

    Args:
        source: `builtin[:k=v,...]`, `tfds:<name>`, a MovieLens directory or
            an interactions .csv/.parquet file.
        items: the item catalog file when `source` is a file.
        tfds_manual_dir: a directory holding a downloaded TFDS archive.
        tfds_data_dir: where TFDS prepares data (default: TFDS's own).
        split: "leave_last_out" (per user, last event = test), "time_cut"
            (events after a global time quantile = test; items first seen
            after it are cold-start items) or "random" (the TFRS tutorial
            protocol: random 80/20 of events).
        time_cut_quantile: the quantile of timestamps used by "time_cut".
        random_test_fraction: test share of the "random" split.
        split_seed: seed of the "random" split (42 as in the TFRS tutorials).
        max_history: how many most recent items the user tower reads.
        strict: turn documented loader fallbacks into errors.
        columns: for .csv/.parquet files, which column holds what:
            `{role: column}` with roles `COLUMN_ROLES`, "text" taking a list
            of catalog columns, e.g. `{"user_id": "visitor", "text":
            ["title", "tags"]}` (`--columns user_id=visitor,text=title+tags`).
            Roles left out take their defaults: user_id, item_id; timestamp
            if present, else the file order; a rating/label/score column as
            the label, else clicks; catalog_item_id = item_id.
        scenario_sources: scenario name -> source (as `source`), at least
            two: the sources are loaded (`items` unset, `columns` and
            `strict` applying to each) and joined as the scenarios of one
            data set (`data/scenario_join.py`: ids become "<name>/<id>");
            `source` is then not read. Empty: `source` alone.

    Example:
        DataConfig(source="events.csv", items="items.csv",
                   columns=DataConfig.parse_columns("user_id=visitor,label=stars"))
        DataConfig(scenario_sources={"ml100k": "data/ml-100k", "mls": "data/ml-latest-small"})
    """

    source: str = "builtin"
    items: Optional[str] = None
    tfds_manual_dir: Optional[str] = None
    tfds_data_dir: Optional[str] = None
    split: str = "time_cut"
    time_cut_quantile: float = 0.8
    random_test_fraction: float = 0.2
    split_seed: int = 42
    max_history: int = 50
    strict: bool = False
    columns: dict = dataclasses.field(default_factory=dict)
    scenario_sources: dict = dataclasses.field(default_factory=dict)

    def validate(self):
        _check_choice("data.split", self.split, SPLITS)
        _check_scenario_sources(self.scenario_sources, self.items)
        _check_range("data.time_cut_quantile", self.time_cut_quantile, 0.0, 1.0)
        _check_range("data.random_test_fraction", self.random_test_fraction, 0.0, 1.0)
        _check_positive("data.max_history", self.max_history)
        for role, name in self.columns.items():
            if role not in COLUMN_ROLES:
                raise ConfigError(f"data.columns: unknown column role {role!r}; roles are {list(COLUMN_ROLES)}.")
            names = name if role == "text" and isinstance(name, list) else [name]
            if not names or not all(isinstance(n, str) and n for n in names):
                kind = "a column name or a list of them" if role == "text" else "a column name"
                raise ConfigError(f"data.columns.{role} must be {kind}, got {name!r}.")

    @staticmethod
    def parse_columns(text: str) -> dict:
        """`--columns` text -> `{role: column}`; "text" joins several with "+".

        Example:
            >>> DataConfig.parse_columns("user_id=visitor, text=title+tags")
            {'user_id': 'visitor', 'text': ['title', 'tags']}
        """
        columns = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            role, equals, name = (p.strip() for p in part.partition("="))
            if not equals or not role or not name:
                raise ConfigError(f"--columns: expected role=column, got {part!r}.")
            if role in columns:
                raise ConfigError(f"--columns: role {role!r} is given twice.")
            columns[role] = [n.strip() for n in name.split("+")] if role == "text" else name
        return columns

    @staticmethod
    def parse_sources(values: List[str]) -> dict:
        """`--data` values (the flag given once or more) -> the `data` overrides they set.

        One plain source sets `source` (and clears `scenario_sources`);
        NAME=SOURCE values, at least two with distinct names, set
        `scenario_sources`. A value is NAME=SOURCE when the text before its
        first "=" holds no ":", "/" or "\\" (so `builtin:users=100` and
        `dir/a=b.csv` stay plain sources; write `./a=b.csv` for such a file).

        Example:
            >>> DataConfig.parse_sources(["ml100k=data/ml-100k", "mls=data/ml-latest-small"])
            {'scenario_sources': {'ml100k': 'data/ml-100k', 'mls': 'data/ml-latest-small'}}
            >>> DataConfig.parse_sources(["builtin:users=100"])
            {'source': 'builtin:users=100', 'scenario_sources': {}}
        """
        named, plain = {}, []
        for value in values:
            name, equals, source = value.partition("=")
            if not equals or any(c in name for c in ":/\\"):
                plain.append(value)
                continue
            if not SCENARIO_NAME.fullmatch(name) or not source:
                raise ConfigError(
                    f"--data {value!r}: expected NAME=SOURCE with a NAME of letters, digits, '_', '.' or '-' "
                    "and a non-empty SOURCE."
                )
            if name in named:
                raise ConfigError(f"--data: scenario name {name!r} is given twice ({named[name]!r} and {source!r}).")
            named[name] = source
        if plain and (named or len(plain) > 1):
            raise ConfigError(
                f"--data {plain[0]!r}: give one plain source, or NAME=SOURCE at least twice to join sources as "
                f"scenarios (got {len(plain)} plain and {len(named)} named)."
            )
        if plain:
            return {"source": plain[0], "scenario_sources": {}}
        if len(named) < 2:
            raise ConfigError(
                f"--data {values[0]!r}: a named source joins other sources as scenarios: give NAME=SOURCE at "
                "least twice, or the plain SOURCE."
            )
        return {"scenario_sources": named}


# A small pretrained sentence encoder (6 layers, width 384, 90 MB), loaded by KerasHub.
DEFAULT_TEXT_ENCODER = "hf://sentence-transformers/all-MiniLM-L6-v2"


@dataclasses.dataclass
class TextConfig:
    """The BERT item-text encoder.

    Args:
        encoder: a KerasHub preset name, `hf://<repo>`, a local Keras preset
            directory or a local Hugging Face BERT checkpoint directory.
            Default: `DEFAULT_TEXT_ENCODER`, the pretrained MiniLM sentence
            encoder (Hugging Face cache first; downloaded once where there is
            internet; where it cannot be had, the fallback with a warning
            saying why). "none" (or null, as configs written before this
            default say): no pretrained encoder, without trying the network;
            a small randomly initialised BERT whose WordPiece vocabulary is
            computed from the catalog (with a warning: not pretrained).
        mode: "frozen" (encode each item once into a cache; the CPU default),
            "finetune" (train BERT jointly) or "lora" (KerasHub LoRA).
        lora_rank: rank of the LoRA adapters in "lora" mode.
        sequence_length: tokens per item text, [CLS] and [SEP] included.
        text_fields: catalog fields joined into the item text (None: all).
        encode_batch_size: items per BERT call when building the cache.
        fallback_vocabulary_size: WordPiece size of the fallback encoder.
        fallback_vocabulary_max_texts: the fallback vocabulary is learned from
            at most this many item texts (a sample seeded by `train.seed`
            beyond it, logged), so its cost stays bounded on large catalogs.
        fallback_num_layers, fallback_hidden_dim, fallback_num_heads,
        fallback_intermediate_dim: shape of the fallback BERT.
    """

    encoder: Optional[str] = DEFAULT_TEXT_ENCODER
    mode: str = "frozen"
    lora_rank: int = 4
    sequence_length: int = 32
    text_fields: Optional[List[str]] = None
    encode_batch_size: int = 256
    fallback_vocabulary_size: int = 3000
    fallback_vocabulary_max_texts: int = 5000
    fallback_num_layers: int = 2
    fallback_hidden_dim: int = 64
    fallback_num_heads: int = 2
    fallback_intermediate_dim: int = 128

    def validate(self):
        _check_choice("text.mode", self.mode, TEXT_MODES)
        _check_positive("text.sequence_length", self.sequence_length)
        _check_positive("text.lora_rank", self.lora_rank)
        _check_positive("text.encode_batch_size", self.encode_batch_size)
        for name in (
            "fallback_vocabulary_size",
            "fallback_vocabulary_max_texts",
            "fallback_num_layers",
            "fallback_hidden_dim",
            "fallback_num_heads",
            "fallback_intermediate_dim",
        ):
            _check_positive(f"text.{name}", getattr(self, name))
        if self.sequence_length < 3:
            raise ConfigError("text.sequence_length must be >= 3 ([CLS], one token, [SEP]).")


@dataclasses.dataclass
class ModelConfig:
    """The two towers and the weights of the tasks.

    Args:
        embedding_dim: width of user and item embeddings.
        use_text: feed the BERT text features into the item tower.
        use_item_ids: feed the item-id embedding into the item tower.
            (Switching one off gives the ID-only / text-only baselines.)
        lstm_units: width of the user tower's LSTM.
        item_id_dropout: training-time probability of dropping an item's id
            vector, so the text path learns to carry items alone, as it
            must for cold-start items (which have no id vector).
        temperature: softmax temperature of the retrieval task.
        logq_correction: pass in-batch sampling probabilities (item
            popularity) to the retrieval task to correct popularity bias.
        retrieval_weight, ranking_weight, attribute_weight: multi-task loss
            weights; 0 switches a task off. The attribute task (predict an
            item's catalog attributes, e.g. genres, from its text) is off by
            default: on ml-100k it lowered Recall@10 (0.2089 -> 0.2068 with it
            off, gate fusion) and it trains on the labels the request
            benchmark scores, inflating it.
        ranking_hidden_units: widths of the ranking head's hidden layers.
        user_tower: the user tower's sequence encoder: "lstm" or
            "attention" (causal self-attention, SASRec-style).
        attention_blocks, attention_heads: shape of the "attention" encoder.
        attention_dropout: the "attention" encoder's dropout on its input,
            residual branches and attention weights (SASRec/RecBole: 0.5);
            None = `dropout` on input and residuals, weights not dropped.
        attention_feed_forward_multiplier: the "attention" encoder's
            feed-forward inner width, in `lstm_units` (SASRec/RecBole: 4).
        training_targets: "every_position" (one pass over each user's
            sequence, a loss at every position, as GRU4Rec/SASRec train) or
            "last_position" (one example per target event, its history
            re-read each time).
        empty_history_targets: with "every_position", each user's first
            event is a target too, predicted from an empty history, so the
            answer for a user without history (a new user, a history of
            unknown ids) is trained rather than left at what the other
            positions happen to make of it (ml-100k, 3 seeds: that answer's
            Recall@10 0.0456 -> 0.0710, overall 0.2121 -> 0.2153; see the
            README). Off by default until the benchmark is re-run with it.
        negatives: "full_catalog" (softmax over every item seen in
            training), "in_batch" (the other targets of the batch, TFRS
            `Retrieval`; logQ-corrected with `logq_correction`) or "auto":
            full_catalog, except in_batch when BERT is fine-tuned ("finetune"
            or "lora": a full-catalog softmax would run BERT over every item
            at each step) and when the catalog has more than
            `full_catalog_max_items` items (a [targets, items] logit matrix
            per step: 1M items x 6k targets would be 24 GB); in_batch chosen
            for catalog size is logQ-corrected.
        full_catalog_max_items: the catalog size beyond which "auto" picks
            in_batch negatives.
        id_hash_buckets: 0 = every item seen in training has its own
            id-embedding row; N > 0 = item ids and user-feature values are
            hashed (FarmHash, `tf_keras.layers.Hashing`) into N buckets each,
            so the embedding tables stay N rows for vocabularies of millions;
            the collision rate is logged and reported in metrics.json.
        dropout: dropout on the user tower's inputs and encoder.
        context_dropout: training-time probability of replacing scenario
            and user features by "unknown", so requests without them
            (the export's default) are served by a trained state.
        fusion: how the item tower joins its paths: "sum" (id + text),
            "gate" (a learned, popularity-dependent weight between them) or
            "paths" (kept apart, each with its own user tower: a score is the
            mean of an id cosine and a text cosine; embeddings are
            2 x embedding_dim wide; see `models/item_tower.py`).
        text_geometry_weight: weight of a regulariser that keeps the text
            projection's geometry close to BERT's (cosines between the batch's
            target items, projected vs raw), so a request embedded by the
            text path keeps its meaning; 0 switches it off.
        scenario_heads: scenario-specific parts besides the scenario
            embedding: "none", or "star" (STAR, Sheng et al. 2021: the user
            tower's final layer has weights shared ⊙ per-scenario, the
            per-scenario ones starting at 1 and trained only by their
            scenario's examples; see `models/scenario_heads.py`).
    """

    embedding_dim: int = 64
    use_text: bool = True
    use_item_ids: bool = True
    lstm_units: int = 64
    item_id_dropout: float = 0.1
    temperature: float = 0.1
    logq_correction: bool = False
    retrieval_weight: float = 1.0
    ranking_weight: float = 0.05
    attribute_weight: float = 0.0
    ranking_hidden_units: List[int] = dataclasses.field(default_factory=lambda: [64])
    user_tower: str = "lstm"
    attention_blocks: int = 2
    attention_heads: int = 2
    attention_dropout: Optional[float] = None
    attention_feed_forward_multiplier: int = 1
    training_targets: str = "every_position"
    empty_history_targets: bool = False
    negatives: str = "auto"
    dropout: float = 0.1
    context_dropout: float = 0.1
    fusion: str = "gate"
    text_geometry_weight: float = 0.0
    full_catalog_max_items: int = 50_000
    id_hash_buckets: int = 0
    scenario_heads: str = "none"

    def validate(self):
        _check_positive("model.embedding_dim", self.embedding_dim)
        _check_positive("model.full_catalog_max_items", self.full_catalog_max_items)
        if self.id_hash_buckets < 0:
            raise ConfigError(f"model.id_hash_buckets must be >= 0 (0 = no hashing), got {self.id_hash_buckets}.")
        _check_choice("model.user_tower", self.user_tower, USER_TOWERS)
        _check_choice("model.training_targets", self.training_targets, TRAINING_TARGETS)
        if self.empty_history_targets and self.training_targets != "every_position":
            raise ConfigError(
                'model.empty_history_targets needs model.training_targets "every_position" (the per-position '
                f'windows hold the empty-history targets), got "{self.training_targets}".'
            )
        _check_choice("model.negatives", self.negatives, NEGATIVES)
        _check_choice("model.fusion", self.fusion, FUSIONS)
        _check_choice("model.scenario_heads", self.scenario_heads, SCENARIO_HEADS)
        _check_positive("model.attention_blocks", self.attention_blocks)
        _check_positive("model.attention_heads", self.attention_heads)
        _check_positive("model.attention_feed_forward_multiplier", self.attention_feed_forward_multiplier)
        if self.attention_dropout is not None:
            _check_range("model.attention_dropout", self.attention_dropout, 0.0, 0.9)
        _check_range("model.dropout", self.dropout, 0.0, 0.9)
        _check_range("model.context_dropout", self.context_dropout, 0.0, 1.0)
        _check_positive("model.lstm_units", self.lstm_units)
        _check_range("model.item_id_dropout", self.item_id_dropout, 0.0, 1.0)
        _check_positive("model.temperature", self.temperature)
        if not (self.use_text or self.use_item_ids):
            raise ConfigError("model.use_text and model.use_item_ids cannot both be false.")
        for name in ("retrieval_weight", "ranking_weight", "attribute_weight", "text_geometry_weight"):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ConfigError(f"model.{name} must be >= 0, got {value!r} (a finite number is needed).")
        for units in self.ranking_hidden_units:
            _check_positive("model.ranking_hidden_units[]", units)


@dataclasses.dataclass
class TrainConfig:
    """The training loop.

    Args:
        epochs, batch_size, learning_rate: the usual.
        seed: seeds Python, NumPy, TensorFlow and Keras 3 for repeatable runs.
        deterministic: enable TensorFlow op determinism (same seed, same run).
        strategy: "default", "mirrored" (all local GPUs), "multiworker"
            (TF_CONFIG cluster) or "tpu".
        tpu: TPU address for the "tpu" strategy ("" = the local TPU VM).
        mixed_precision: train in mixed_float16 (GPU) / mixed_bfloat16 (TPU).
        checkpoint_every_steps: also back up mid-epoch every N steps (0 = at
            each epoch end only); `train` resumes from the backup.
        eval_max_examples: cap on test examples evaluated (0 = all).
        early_stopping_patience: stop after this many epochs without a
            better validation Recall@10 and restore the best epoch's
            weights (0 = train every epoch, no validation hold-out). The
            validation target is each user's last training event
            (leave_last_out), the last 10% of the training period
            (time_cut) or a random 5% of training events (random).
        validation_max_examples: cap on validation examples (0 = all).
        lazy_adam_min_rows: embedding tables with at least this many rows
            get lazy Adam updates: only the rows a step's gradient touches
            move (`training/lazy_adam.py`; Keras' Adam moves every row of
            the table every step, O(items) per step). Smaller tables update
            exactly as Keras' Adam does (a full-catalog softmax touches
            every row: the same up to float rounding). 0 = Keras' Adam for
            every table.
        learning_rate_decay: the rate is multiplied by this after every
            `learning_rate_decay_patience` epochs without a better validation
            Recall@10 (Keras' ReduceLROnPlateau rule, replayed from the
            saved validation curve so resumed runs match:
            `training/plateau_learning_rate.py`); 1 = a constant rate. Needs
            the validation curve, so it applies only with
            `early_stopping_patience` > 0.
        learning_rate_decay_patience: epochs without improvement before
            each drop (below `early_stopping_patience` to matter).
        verbose: Keras progress display (0 silent, 1 bar, 2 one line/epoch);
            None: 1 when stdout is a terminal, else 2.
    """

    epochs: int = 3
    batch_size: int = 128
    learning_rate: float = 2e-3
    seed: int = 0
    deterministic: bool = True
    strategy: str = "default"
    tpu: str = ""
    mixed_precision: bool = False
    checkpoint_every_steps: int = 0
    eval_max_examples: int = 0
    early_stopping_patience: int = 5
    validation_max_examples: int = 5000
    lazy_adam_min_rows: int = 50_000
    learning_rate_decay: float = 1.0
    learning_rate_decay_patience: int = 2
    verbose: Optional[int] = None

    def validate(self):
        _check_positive("train.epochs", self.epochs)
        _check_positive("train.batch_size", self.batch_size)
        _check_positive("train.learning_rate", self.learning_rate)
        _check_choice("train.strategy", self.strategy, STRATEGIES)
        if self.seed < 0:
            raise ConfigError(f"train.seed must be >= 0, got {self.seed}.")
        if min(self.early_stopping_patience, self.validation_max_examples) < 0:
            raise ConfigError("train.early_stopping_patience and train.validation_max_examples must be >= 0.")
        if self.lazy_adam_min_rows < 0:
            raise ConfigError(f"train.lazy_adam_min_rows must be >= 0 (0 = never lazy), got {self.lazy_adam_min_rows}.")
        if not 0 < self.learning_rate_decay <= 1:
            raise ConfigError(
                f"train.learning_rate_decay must be in (0, 1] (1 = constant), got {self.learning_rate_decay}."
            )
        if self.learning_rate_decay_patience < 1:
            raise ConfigError(
                f"train.learning_rate_decay_patience must be >= 1, got {self.learning_rate_decay_patience}."
            )
        if self.checkpoint_every_steps < 0 or self.eval_max_examples < 0:
            raise ConfigError("train.checkpoint_every_steps and train.eval_max_examples must be >= 0.")


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
            built[field.name] = _section_from_dict(field.name, section_cls, values.get(field.name, {}))
        return cls(**built).validate()

    @classmethod
    def from_json_file(cls, path: str) -> "ExperimentConfig":
        try:
            with open(path, encoding="utf-8") as f:
                values = json.load(f)
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
        return cls.from_dict(values)

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


ADAPT_PARTS = ("scenario", "projection", "lora", "all")
MATCH_ITEMS_BY = ("auto", "title", "text", "title_loose", "none")  # see training/item_matching.py


@dataclasses.dataclass
class AdaptConfig:
    """How `tfrec-llm adapt` fits a trained model to a new domain (`adapt.json` in its output).

    Args:
        fraction: share of the new domain's training users trained on
            (0 = zero-shot: the new items enter through their text, nothing
            is trained; 1 = all of them).
        train_only: which parts train: "scenario" (the domain's own tables:
            scenario and item-id embeddings), "projection" (the item tower's
            text projection), "lora" (KerasHub LoRA adapters of the text
            encoder; text mode becomes "lora") or "all" (every part but a
            frozen encoder).
        epochs: most epochs (early stopping as in `train.early_stopping_patience`).
        learning_rate: Adam's learning rate (None: the model's own).
        seed: seeds the user sample and the training.
        from_scratch: train a fresh model of the same architecture and text
            encoder instead of starting from the trained one (the baseline).
        match_items_by: carry item identity across domains: new items whose
            field equals a trained item's (case/whitespace-insensitive) start
            from its id row and gate count ("auto": "title" when both catalogs
            have titles; "title"; "text": the whole item text; "title_loose":
            title, then title without alternate titles; "none"; see
            `training/item_matching.py`). Not used with from_scratch.

    Example:
        AdaptConfig(fraction=0.1, train_only="projection").validate()
    """

    fraction: float = 1.0
    train_only: str = "all"
    epochs: int = 20
    learning_rate: Optional[float] = None
    seed: int = 0
    from_scratch: bool = False
    match_items_by: str = "auto"

    def validate(self) -> "AdaptConfig":
        _check_range("adapt.fraction", self.fraction, 0.0, 1.0)
        _check_choice("adapt.train_only", self.train_only, ADAPT_PARTS)
        _check_choice("adapt.match_items_by", self.match_items_by, MATCH_ITEMS_BY)
        _check_positive("adapt.epochs", self.epochs)
        if self.learning_rate is not None:
            _check_positive("adapt.learning_rate", self.learning_rate)
        if self.seed < 0:
            raise ConfigError(f"adapt.seed must be >= 0, got {self.seed}.")
        if self.from_scratch and self.fraction == 0:
            raise ConfigError("adapt.from_scratch needs adapt.fraction > 0: a fresh model trained on nothing.")
        return self


def _section_from_dict(name, section_cls, values):
    if not isinstance(values, dict):
        raise ConfigError(f"Config section {name!r} must be an object.")
    fields = {f.name: f for f in dataclasses.fields(section_cls)}
    unknown = set(values) - set(fields)
    if unknown:
        raise ConfigError(f"Unknown keys in config section {name!r}: {sorted(unknown)}; valid: {sorted(fields)}.")
    annotations = typing.get_type_hints(section_cls)
    for key, value in values.items():
        _check_type(f"{name}.{key}", value, annotations[key])
    return section_cls(**values)


def _check_type(name, value, annotation):
    """Raises ConfigError unless `value` fits `annotation` (str/int/float/bool, List[...], Optional[...])."""
    if typing.get_origin(annotation) is typing.Union:  # Optional[X]: null or an X
        if value is None:
            return
        (annotation,) = [a for a in typing.get_args(annotation) if a is not type(None)]
    if typing.get_origin(annotation) is list:
        if not isinstance(value, list):
            raise ConfigError(f"{name} must be list, got {type(value).__name__} ({value!r}).")
        (item_type,) = typing.get_args(annotation)
        for i, item in enumerate(value):
            _check_type(f"{name}[{i}]", item, item_type)
        return
    fits = isinstance(value, annotation) and not (annotation is int and isinstance(value, bool))
    if annotation is float and isinstance(value, int) and not isinstance(value, bool):
        fits = True
    if not fits:
        raise ConfigError(f"{name} must be {annotation.__name__}, got {type(value).__name__} ({value!r}).")


def _check_scenario_sources(sources: dict, items):
    if not sources:
        return
    if len(sources) < 2:
        raise ConfigError(f"data.scenario_sources joins at least two sources, got {sorted(sources)}.")
    for name, source in sources.items():
        if not SCENARIO_NAME.fullmatch(name):
            raise ConfigError(
                f"data.scenario_sources: name {name!r} must be letters, digits, '_', '.' or '-' (ids become name/id)."
            )
        if not isinstance(source, str) or not source:
            raise ConfigError(f"data.scenario_sources.{name} must be a non-empty source, got {source!r}.")
    if items is not None:
        raise ConfigError(
            "data.items names one catalog file: it cannot serve data.scenario_sources (give each source "
            "as a directory or a file whose items the loader finds)."
        )


def _check_choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"{name} must be one of {list(choices)}, got {value!r}.")


def _check_positive(name, value):
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(f"{name} must be > 0, got {value!r} (a finite number is needed).")


def _check_range(name, value, low, high):
    if not low <= value <= high:  # also false for NaN
        raise ConfigError(f"{name} must be in [{low}, {high}], got {value!r}.")


@dataclasses.dataclass
class UpdateConfig:
    """How `tfrec-llm update` continues a trained model on new events.

    Args:
        epochs: passes over the update's training windows (those holding
            new events and the replayed ones).
        learning_rate: Adam's learning rate (None: a quarter of the
            model's own: a fresh Adam's first steps at the full rate undo
            much of a trained model; on ml-100k, 2 epochs at the full rate
            fell to 0.57-0.90 of a retrain's Recall@10, 4 at a quarter
            reached 0.88-1.0).
        replay_ratio: older training windows replayed per window holding
            new events, sampled uniformly (against forgetting); 0 = none.
            4: chosen among 1, 2, 4 on ml-100k's validation slices, then
            0.987-0.999 of an early-stopped retrain's Recall@10 at 0.12-0.17
            of its wall time (README, feedback loop).
        seed: seeds the replay sample and the training stream.

    Example:
        UpdateConfig(epochs=4, replay_ratio=1.0).validate()
    """

    epochs: int = 4
    learning_rate: Optional[float] = None
    replay_ratio: float = 4.0
    seed: int = 0

    def validate(self) -> "UpdateConfig":
        _check_positive("update.epochs", self.epochs)
        if self.learning_rate is not None:
            _check_positive("update.learning_rate", self.learning_rate)
        if not self.replay_ratio >= 0:  # also false for NaN
            raise ConfigError(f"update.replay_ratio must be >= 0, got {self.replay_ratio!r}.")
        if self.seed < 0:
            raise ConfigError(f"update.seed must be >= 0, got {self.seed}.")
        return self
