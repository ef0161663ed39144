"""`adapt()`: fit a trained model to a new domain (other items, users, ids) with a small budget.

The new domain's items enter through their text: its catalog is encoded
once by the trained model's own text encoder and gets new id slots (zero
rows until trained, see `domain_transfer`). A `fraction` of the new
domain's training users is trained on (0 = zero-shot: nothing is trained,
the user tower reads the new items' text vectors); `train_only` chooses the
parts that train. New items matched to a trained item by title
(`item_matching`, `AdaptConfig.match_items_by`) get an id slot and start from
that item's id row and gate count (`domain_transfer.copy_matched_items`);
the matches are counted in `adapt.json` and the metrics' "training".
Evaluation uses the new domain's whole test split, every test user served
from their history, so fractions compare on the same
examples. `from_scratch` trains a fresh model of the same architecture on
the same fraction instead: the baseline adaptation has to beat.

Writes into `output_dir` the files of a trained model directory (so
`evaluate`, `export` and `TrainedModel.load` read it) plus `adapt.json`
(the `AdaptConfig` and the source model). Interrupted, the same call resumes
from `<output_dir>/backup` as `train` and `update` do (`resumable_fit`), only
with the same settings (`adapt_record`: the `AdaptConfig`, source model and
new events join the recorded config).

Example:
    metrics = adapt("runs/ml-latest-small", "runs/ml-100k-10pct",
                    {"source": "../shared/data/ml-100k"}, AdaptConfig(fraction=0.1))
"""

import dataclasses
import json
import logging
import os
import time

import numpy as np
import tf_keras

from tfrec_llm.data.category_vocabulary import CategoryVocabulary
from tfrec_llm.data.data_split import split_interactions
from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX, ItemVocabulary
from tfrec_llm.data.sequence_examples import ContextVocabularies, train_and_test_examples
from tfrec_llm.data.validation_holdout import validation_mask
from tfrec_llm.experiment_config import AdaptConfig, ExperimentConfig
from tfrec_llm.models.text.encoder_loading import save_text_encoder
from tfrec_llm.training.domain_transfer import copy_matched_items, set_trainable_parts, transfer_weights
from tfrec_llm.training.early_stopping import validation_early_stopping
from tfrec_llm.training.plateau_learning_rate import validation_callbacks
from tfrec_llm.training.experiment_data import ExperimentData, load_source, prepare_experiment_data
from tfrec_llm.training.item_matching import find_matches
from tfrec_llm.training.model_building import build_model, fit_cold_item_ids, make_optimizer, save_weights
from tfrec_llm.training.model_evaluation import evaluate_on_test
from tfrec_llm.training.resumable_fit import backup_dir_of, events_fingerprint, resumable_fit
from tfrec_llm.training.resume import check_backup_config
from tfrec_llm.training.trained_model import TEXT_ENCODER_DIR, TrainedModel
from tfrec_llm.training.trainer import (
    METRICS_FILE,
    TRAINING_LOG_FILE,
    build_assets,
    build_variables,
    epoch_losses,
    set_seeds,
    text_tables,
    write_config,
)

logger = logging.getLogger(__name__)

ADAPT_FILE = "adapt.json"


def sample_users(events, fraction: float, seed: int) -> np.ndarray:
    """bool [len(events)]: the events of a seeded `fraction` of their users (at least one user if > 0)."""
    users = np.unique(events.user_ids)
    count = 0 if fraction <= 0 else max(1, int(round(fraction * len(users))))
    chosen = np.random.default_rng(seed).choice(users, min(count, len(users)), replace=False)
    return np.isin(events.user_ids, chosen)


def check_text_encoder(trained: TrainedModel, text_encoder: str, model_dir: str):
    """Raises ValueError when `text_encoder` (a requested spec, or None) is not the model's encoder."""
    own = trained.config.text.encoder
    if text_encoder is None or text_encoder in (own, trained.text_encoder.source):
        return
    raise ValueError(
        f"--text-encoder {text_encoder!r} is not the text encoder of {model_dir!r} ({own!r}, "
        f"see {model_dir}/config.json): its text projection reads that encoder's vectors. "
        "Leave --text-encoder out to encode the new items with the model's own encoder."
    )


def domain_experiment(
    config: ExperimentConfig, data, trained_assets, adapt_config: AdaptConfig, matched_item_ids=()
) -> ExperimentData:
    """The new domain's `ExperimentData`: test split whole, training events of the sampled users only.

    Scenarios: the trained model's (`trained_assets`) and the new domain's;
    user features: the trained model's vocabularies (other features are not read).
    Id slots: the sampled users' items and `matched_item_ids` (items matched
    to a trained item, whose id row is copied).
    """
    d = config.data
    split = split_interactions(data.interactions, d.split, d.time_cut_quantile, d.random_test_fraction, d.split_seed)
    chosen = sample_users(split.train, adapt_config.fraction, adapt_config.seed)
    slotted = np.union1d(split.train.item_ids[chosen].astype(str), np.asarray(matched_item_ids, str))
    vocabulary = ItemVocabulary(data.catalog.item_ids, slotted)
    scenarios = CategoryVocabulary(np.concatenate([trained_assets.scenario_values, split.train.scenarios]))
    features = {}
    for name, values in trained_assets.user_feature_values.items():
        if data.user_features is None or name not in data.user_features.columns:
            raise ValueError(f"The trained model reads the user feature {name!r}; the new data ({d.source}) has none.")
        features[name] = CategoryVocabulary([])
        features[name].values = np.asarray(values, dtype=str)
    dropped = sorted(set(data.user_features.columns) - set(features)) if data.user_features is not None else []
    if dropped:
        logger.warning("User features %s of the new data are unknown to the trained model: not read.", dropped)
    context = ContextVocabularies(scenarios, features, data.user_features)
    full = prepare_experiment_data(config, data, vocabulary, context)
    sampled = dataclasses.replace(
        full.split, train=full.split.train.select(chosen), train_positions=full.split.train_positions[chosen]
    )
    train_examples, _ = train_and_test_examples(sampled, vocabulary, context, d.max_history)
    held_out = (
        validation_mask(sampled, config.train.seed)
        if config.train.early_stopping_patience > 0
        else np.zeros(len(sampled.train), bool)
    )
    return dataclasses.replace(full, split=sampled, train_examples=train_examples, validation=held_out)


def adapt_record(model_dir: str, data, adapt_config: AdaptConfig) -> dict:
    """The settings outside the run's config that change what `adapt` trains (its backup's `extra`)."""
    return {
        "adapt": {
            **dataclasses.asdict(adapt_config),
            "model_dir": os.path.abspath(model_dir),
            "new_events": events_fingerprint(data.interactions),
        }
    }


def adapt(
    model_dir: str,
    output_dir: str,
    data_overrides: dict = None,
    adapt_config: AdaptConfig = None,
    data=None,
    text_encoder: str = None,
) -> dict:
    """Adapts the model in `model_dir` to new data; returns the metrics (also in metrics.json).

    Args:
        model_dir: a trained model directory (`train` or `adapt` output).
        output_dir: where the adapted model is written.
        data_overrides: the new domain's `data` config section keys (e.g.
            `{"source": "../shared/data/ml-100k"}`); the rest is the model's.
        adapt_config: fraction, parts to train, budget (see `AdaptConfig`).
        data: the new domain's `InteractionData` (instead of loading it).
        text_encoder: the encoder the caller expects (an error if it is not
            the model's own); None: the model's own.
    """
    adapt_config = (adapt_config or AdaptConfig()).validate()
    trained = TrainedModel.load(model_dir)
    check_text_encoder(trained, text_encoder, model_dir)
    text_overrides = {"mode": "lora"} if adapt_config.train_only == "lora" else {}
    train_overrides = {"epochs": adapt_config.epochs, "seed": adapt_config.seed}
    if adapt_config.learning_rate is not None:
        train_overrides["learning_rate"] = adapt_config.learning_rate
    config = trained.config.updated({"data": data_overrides or {}, "text": text_overrides, "train": train_overrides})
    set_seeds(config.train.seed, config.train.deterministic)
    timings = {}
    started = time.time()
    data = load_source(config) if data is None else data
    record = adapt_record(model_dir, data, adapt_config)
    check_backup_config(backup_dir_of(output_dir), config, record)  # before the text: refuse to mix two runs
    match_by = "none" if adapt_config.from_scratch else adapt_config.match_items_by
    match = find_matches(match_by, trained.config, trained.assets, data.catalog, config.text.text_fields)
    matched_ids = [] if match is None else data.catalog.item_ids[match.new_index - FIRST_ITEM_INDEX]
    experiment = domain_experiment(config, data, trained.assets, adapt_config, matched_ids)
    timings["data_seconds"] = time.time() - started
    started = time.time()
    os.makedirs(output_dir, exist_ok=True)
    texts, token_table, text_features = text_tables(config, experiment, trained.text_encoder, output_dir)
    assets = build_assets(experiment, texts, token_table, text_features)
    assets.cold_items = assets.item_popularity == 0  # matched items have slots, yet no event in this domain
    assets.cold_items[:FIRST_ITEM_INDEX] = False
    timings["text_seconds"] = time.time() - started
    model = build_model(config, assets, trained.text_encoder)
    build_variables(model, assets, config)
    if not adapt_config.from_scratch:
        transfer_weights(trained.model, model, trained.assets.scenario_values, assets.scenario_values)
        if match is not None:
            copy_matched_items(trained.model, model, match.new_index, match.source_index)
    item_match = None if match is None else match.summary()
    part = "all" if adapt_config.from_scratch else adapt_config.train_only
    trainable = set_trainable_parts(model, part)
    model.compile(optimizer=make_optimizer(config))
    write_config(config, output_dir)
    started = time.time()
    best_epoch = _fit(model, assets, config, experiment, output_dir, record) if adapt_config.fraction > 0 else None
    timings["train_seconds"] = time.time() - started
    fit_cold_item_ids(model, config)
    save_weights(model, output_dir)
    assets.save(output_dir)
    save_text_encoder(trained.text_encoder, os.path.join(output_dir, TEXT_ENCODER_DIR))
    with open(os.path.join(output_dir, ADAPT_FILE), "w", encoding="utf-8") as f:
        record_file = {"model_dir": os.path.abspath(model_dir), **dataclasses.asdict(adapt_config)}
        json.dump({**record_file, "item_match": item_match}, f, indent=2)
    started = time.time()
    metrics = evaluate_on_test(model, assets, experiment, config.train)
    timings["eval_seconds"] = time.time() - started
    log_path = os.path.join(output_dir, TRAINING_LOG_FILE)
    metrics["training"] = {
        "loss": epoch_losses(log_path),
        "text_encoder": trained.text_encoder.source,
        "text_encoder_pretrained": trained.text_encoder.pretrained,
        "adapted_from": None if adapt_config.from_scratch else os.path.abspath(model_dir),
        "train_only": part,
        "item_match": item_match,
        "fraction": adapt_config.fraction,
        "train_users": int(len(np.unique(experiment.split.train.user_ids))),
        "trainable_variables": trainable,
        "train_examples": len(experiment.train_examples),
        "epochs_run": len(epoch_losses(log_path)),
        "best_epoch": None if best_epoch is None else best_epoch + 1,
        **timings,
    }
    with open(os.path.join(output_dir, METRICS_FILE), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
    return metrics


def _fit(model, assets, config: ExperimentConfig, experiment: ExperimentData, output_dir: str, record: dict):
    """Trains on the sampled users' events, resuming a backup; returns the restored best epoch (0-based) or None."""
    features = experiment.training_features(config.model.training_targets, config.model.empty_history_targets)
    num_rows = len(features["next_items" if "next_items" in features else "target"])
    if num_rows == 0:
        raise ValueError("The sampled users have no training events: raise the fraction.")
    stopper = validation_early_stopping(experiment, assets.num_index_rows, config.train, output_dir)
    log_path = os.path.join(output_dir, TRAINING_LOG_FILE)

    def forget_an_earlier_run():
        if stopper is not None:
            stopper.reset()
        if os.path.exists(log_path):
            os.remove(log_path)

    resumable_fit(
        model,
        features,
        config,
        backup_dir_of(output_dir),
        record,
        callbacks=validation_callbacks(stopper, config.train),  # before the loggers: they see val_recall@10 and lr
        loggers=[tf_keras.callbacks.CSVLogger(log_path, append=True)],
        on_fresh_start=forget_an_earlier_run,
        name="adaptation",
    )
    return stopper.restore_best(model) if stopper is not None else None
