"""`update_model`: continue a trained model on new events (the feedback loop).

Starting from the weights in `model_dir`, the update:
1. checks its inputs: the model directory, the text encoder (a requested one
   must be the model's; the saved one must reproduce the stored text
   vectors), and the new catalog (an id already known with another text is
   an error, not a silent change of meaning);
2. grows the vocabularies (`vocabulary_growth`): new items appended, newly
   trained items get id slots, new scenarios and user-feature values get
   rows; existing embedding rows are carried over bit for bit. Only the new
   items' texts are encoded; existing items keep their stored vectors;
3. trains for `UpdateConfig.epochs` on the windows holding new events plus
   a replayed sample of older windows, each target read with its user's
   full history (`update_sequences`). Interrupted, the same call resumes from
   `<output_dir>/backup` as `train` does (`resumable_fit`); only with the
   same settings: the replay ratio, the source model and the new events join
   the recorded config (`update_record`), a rerun with others is refused;
4. writes a model directory `evaluate`, `export` and a later `update` accept
   (config.json, assets.npz, text_encoder/, checkpoint/, events.npz with
   every event so far, metrics.json); `export_models` then writes it as new
   TF Serving versions beside the old ones (`tfrec-llm update --export-dir`).

Example:
    summary = update_model("runs/base", new_data, "runs/update1", UpdateConfig(epochs=3))
"""

import dataclasses
import json
import logging
import os
import time
from typing import Optional

import numpy as np
import tf_keras

from tfrec_llm.data.interaction_data import InteractionData
from tfrec_llm.data.sequence_examples import ContextVocabularies
from tfrec_llm.data.update_windows import update_sequences
from tfrec_llm.experiment_config import ExperimentConfig, UpdateConfig
from tfrec_llm.models.text.encoder_loading import save_text_encoder
from tfrec_llm.training.event_log import concatenate_events, save_events, trained_events
from tfrec_llm.training.experiment_data import load_source, vocabularies_from_assets
from tfrec_llm.training.model_assets import ModelAssets
from tfrec_llm.training.model_building import build_model, fit_cold_item_ids, make_optimizer, save_weights
from tfrec_llm.training.resumable_fit import backup_dir_of, events_fingerprint, resumable_fit
from tfrec_llm.training.resume import check_backup_config
from tfrec_llm.training.trained_model import CONFIG_FILE, TEXT_ENCODER_DIR, TrainedModel
from tfrec_llm.training.trainer import (
    METRICS_FILE,
    TRAINING_LOG_FILE,
    build_variables,
    epoch_losses,
    set_seeds,
    write_config,
)
from tfrec_llm.training.update_inputs import check_text_encoder, item_texts, known_text_conflicts
from tfrec_llm.training.vocabulary_growth import grow_assets, transfer_weights

logger = logging.getLogger(__name__)

DEFAULT_LEARNING_RATE_SCALE = 0.25  # UpdateConfig.learning_rate None: a quarter of the model's own


def update_record(model_dir: str, new_data: InteractionData, settings: UpdateConfig) -> dict:
    """The settings outside the run's config that change what an update trains (its backup's `extra`)."""
    return {
        "update": {
            **dataclasses.asdict(settings),
            "source_model_dir": os.path.abspath(model_dir),
            "new_events": events_fingerprint(new_data.interactions),
        }
    }


def update_model(
    model_dir: str,
    new_data: InteractionData,
    output_dir: str,
    settings: UpdateConfig = None,
    text_encoder: Optional[str] = None,
    data_overrides: Optional[dict] = None,
) -> dict:
    """Updates the model in `model_dir` with `new_data`'s events; returns the summary (in metrics.json).

    Args:
        model_dir: a model directory written by `train` or `update`.
        new_data: the new events and a catalog holding their items (new
            items need text; known items must keep their text).
        output_dir: the updated model directory (not `model_dir`).
        settings: epochs, learning rate, replay ratio, seed.
        text_encoder: the encoder the caller expects (None: the model's).
        data_overrides: `config.data` of the updated model (e.g. the new
            source, so `evaluate` reads it).
    """
    settings = (settings or UpdateConfig()).validate()
    if not os.path.exists(os.path.join(model_dir, CONFIG_FILE)):
        raise FileNotFoundError(f"{model_dir!r} is not a tfrec-llm model directory (no {CONFIG_FILE}).")
    if os.path.abspath(model_dir) == os.path.abspath(output_dir):
        raise ValueError("update: --output-dir must differ from --model-dir (the trained model is kept).")
    if len(new_data.interactions) == 0:
        raise ValueError(f"update: the new data {new_data.name!r} holds no events.")
    hash_buckets = ExperimentConfig.from_json_file(os.path.join(model_dir, CONFIG_FILE)).model.id_hash_buckets
    if hash_buckets > 0:
        raise ValueError(
            f"update: {model_dir!r} hashes its ids into {hash_buckets} buckets (model.id_hash_buckets); growing "
            "the vocabularies of a hashed model is not supported. Retrain with `train` on all the events."
        )
    read_features = sorted(ModelAssets.load(model_dir).user_feature_values)
    given = sorted(new_data.user_features.columns) if new_data.user_features is not None else []
    missing = [name for name in read_features if name not in given]
    if missing:
        raise ValueError(
            f"update: the model reads the user features {read_features}; the new data {new_data.name!r} lacks "
            f"{missing} (every user's features would become unknown). Give the new data its user table."
        )
    trained = TrainedModel.load(model_dir)
    config = trained.config.updated({"data": data_overrides or {}})
    check_text_encoder(trained, text_encoder, model_dir)
    run_config = config.updated(
        {
            "train": {
                "epochs": settings.epochs,
                "learning_rate": settings.learning_rate or config.train.learning_rate * DEFAULT_LEARNING_RATE_SCALE,
                "seed": settings.seed,
                "early_stopping_patience": 0,
            }
        }
    )
    backup_dir, record = backup_dir_of(output_dir), update_record(model_dir, new_data, settings)
    check_backup_config(backup_dir, run_config, record)  # before the slow growth: refuse to mix two runs
    set_seeds(settings.seed, config.train.deterministic)
    started = time.time()

    catalog_ids, texts, titles = item_texts(new_data, config.text.text_fields)
    conflicts = known_text_conflicts(trained.assets, catalog_ids, texts)
    if conflicts:
        shown = "; ".join(f"{i!r}: model {a!r}, new {b!r}" for i, a, b in conflicts[:3])
        raise ValueError(
            f"update: {len(conflicts)} item ids of {new_data.name!r} are known to the model with another text "
            f"(an id must keep its meaning; give new items new ids): {shown}"
        )
    new_events = new_data.interactions
    known_items = np.union1d(trained.assets.item_ids, catalog_ids)
    unknown = ~np.isin(new_events.item_ids, known_items)
    if unknown.any():
        raise ValueError(
            f"update: {int(unknown.sum())} events of {new_data.name!r} name items in no catalog, "
            f"e.g. {new_events.item_ids[unknown][:3].tolist()}."
        )
    is_new_item = ~np.isin(catalog_ids, trained.assets.item_ids)
    encoder, assets = trained.text_encoder, trained.assets
    tokens = encoder.tokenize(texts[is_new_item], config.text.sequence_length)
    text_rows = None
    if assets.text_features is not None and is_new_item.any():
        text_rows = encoder.encode(tokens, config.text.encode_batch_size)
    attribute_rows = None
    catalog = new_data.catalog
    if assets.item_attributes is not None and catalog.attributes is not None:
        if list(catalog.attribute_names) == list(assets.attribute_names):
            attribute_rows = catalog.attributes[is_new_item]
    user_values = {}
    if new_data.user_features is not None:
        user_values = {k: v for k, v in new_data.user_features.columns.items() if k in assets.user_feature_values}
    growth = grow_assets(
        assets,
        catalog_ids[is_new_item],
        texts[is_new_item],
        titles[is_new_item],
        trained_item_ids=np.unique(new_events.item_ids),
        scenarios=new_events.scenarios,
        user_feature_values=user_values,
        text_rows=text_rows,
        token_rows=tokens,
        attribute_rows=attribute_rows,
        new_event_item_ids=new_events.item_ids,
    )
    grown_seconds = time.time() - started

    older = trained_events(model_dir, trained.config)
    strangers = ~np.isin(older.item_ids, trained.assets.item_ids)
    if strangers.any():
        raise ValueError(
            f"update: {int(strangers.sum())} of the events {model_dir!r} trained on (its events.npz, else its "
            f"config.data source) name items the model does not know, e.g. {older.item_ids[strangers][:3].tolist()}: "
            "they are not its training events. Save them with `event_log.save_events(model_dir, events)`."
        )
    events = concatenate_events(older, new_events)
    is_new = np.concatenate([np.zeros(len(older), bool), np.ones(len(new_events), bool)])
    vocabulary, context = vocabularies_from_assets(growth.assets)
    context = ContextVocabularies(context.scenarios, context.user_features, new_data.user_features)
    sequences, new_rows, replayed = update_sequences(
        events,
        is_new,
        vocabulary,
        context,
        config.data.max_history,
        settings.replay_ratio,
        settings.seed,
        config.model.empty_history_targets,
    )
    features = sequences.features()

    model = build_model(config, growth.assets, encoder)
    build_variables(model, growth.assets, config)
    transfer_weights(trained.model, model, growth)
    model.compile(optimizer=make_optimizer(run_config))

    os.makedirs(output_dir, exist_ok=True)
    started_training = time.time()
    log_path = os.path.join(output_dir, TRAINING_LOG_FILE)  # the loss of every epoch, across resumes

    def forget_an_earlier_run():
        if os.path.exists(log_path):
            os.remove(log_path)

    resumable_fit(
        model,
        features,
        run_config,
        backup_dir,
        record,
        loggers=[tf_keras.callbacks.CSVLogger(log_path, append=True)],
        on_fresh_start=forget_an_earlier_run,
        name="update",
    )
    train_seconds = time.time() - started_training

    fit_cold_item_ids(model, config)
    write_config(config, output_dir)
    save_weights(model, output_dir)
    growth.assets.save(output_dir)
    save_text_encoder(encoder, os.path.join(output_dir, TEXT_ENCODER_DIR))
    save_events(output_dir, events)
    summary = {
        "update": {
            "source_model_dir": os.path.abspath(model_dir),
            "new_events": len(new_events),
            "windows_with_new_events": new_rows,
            "replayed_windows": replayed,
            "training_targets": sequences.num_targets,
            "new_items": growth.new_items,
            "newly_trained_items": growth.newly_trained_items,
            "new_values": growth.new_values,
            "loss": epoch_losses(log_path),
            "grow_seconds": grown_seconds,
            "train_seconds": train_seconds,
            "seconds": time.time() - started,
        }
    }
    with open(os.path.join(output_dir, METRICS_FILE), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    return summary


def update_from_source(
    model_dir: str,
    data_overrides: dict,
    output_dir: str,
    settings: UpdateConfig = None,
    text_encoder: Optional[str] = None,
) -> dict:
    """`update_model` with the new events read from a source (`config.data` of the model with `data_overrides`).

    Example:
        update_from_source("runs/base", {"source": "new_events.csv", "items": "items.csv"}, "runs/update1")
    """
    config_path = os.path.join(model_dir, CONFIG_FILE)
    if not os.path.exists(config_path):
        raise FileNotFoundError(f"{model_dir!r} is not a tfrec-llm model directory (no {CONFIG_FILE}).")
    config = ExperimentConfig.from_json_file(config_path).updated({"data": data_overrides})
    return update_model(model_dir, load_source(config), output_dir, settings, text_encoder, data_overrides)
