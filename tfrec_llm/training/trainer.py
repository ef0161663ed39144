"""`train()`: data -> text tables -> joint TFRS model -> checkpoint, metrics.

Writes into `output_dir`:
- `config.json` (the ExperimentConfig, written once the data and the text
  encoder are ready: a run failing on bad data or a bad encoder leaves none;
  rewritten after training with `model.empty_history_answer` "validation"
  replaced by the answer chosen, `empty_history_choice.py`),
  `assets.npz`, `text_encoder/` (KerasHub preset), `checkpoint/` (final
  weights), `metrics.json`;
- `backup/`: Keras `BackupAndRestore` state while training runs: running
  the same command again after an interruption resumes from it (only with
  the same training config, recorded in `backup/training_config.json`);
- `logs/`: TensorBoard logs; `text_cache.npz`: the frozen BERT vectors.

Under multi-worker training only the chief writes `output_dir`; the other
workers run the same steps into a temporary directory and delete it
(`distribution.writer_directory`). Backups need `output_dir` on a filesystem all
workers share: Keras restores every worker from the chief's backup.
"""

import csv
import dataclasses
import hashlib
import json
import logging
import os
import time

import keras
import numpy as np
import tensorflow as tf
import tf_keras

from tfrec_llm.data.item_vocabulary import FIRST_ITEM_INDEX
from tfrec_llm.training.distribution import is_chief, make_strategy, writer_directory
from tfrec_llm.training.early_stopping import validation_early_stopping
from tfrec_llm.training.plateau_learning_rate import validation_callbacks
from tfrec_llm.experiment_config import ExperimentConfig
from tfrec_llm.training.experiment_data import ExperimentData, prepare_experiment_data
from tfrec_llm.training.model_assets import ModelAssets
from tfrec_llm.training.model_building import (
    build_model,
    example_batch,
    make_optimizer,
    mixed_precision_policy,
    save_weights,
)
from tfrec_llm.training.empty_history_choice import choose_empty_history_answer
from tfrec_llm.evaluation.example_ranks import RANKS_FILE
from tfrec_llm.training.model_evaluation import evaluate_on_test
from tfrec_llm.training.model_building import fit_cold_item_ids, hashed_tables
from tfrec_llm.training.resumable_fit import backup_dir_of, resumable_fit
from tfrec_llm.training.resume import check_backup_config
from tfrec_llm.models.text.encoder_loading import load_text_encoder, save_text_encoder
from tfrec_llm.models.text.no_text_encoder import NoTextEncoder
from tfrec_llm.models.text.text_encoder import warn_about_cut_texts
from tfrec_llm.training.trained_model import CONFIG_FILE, TEXT_ENCODER_DIR, TrainedModel

logger = logging.getLogger(__name__)

METRICS_FILE = "metrics.json"
TRAINING_LOG_FILE = "training_log.csv"


def epoch_losses(log_path: str) -> list:
    """Per-epoch training loss from Keras' CSVLogger file (complete across resumes)."""
    if not os.path.exists(log_path):
        return []
    with open(log_path, encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [float(row["loss"]) for row in rows if row.get("loss")]


def set_seeds(seed: int, deterministic: bool):
    """Seeds Python, NumPy, TensorFlow (tf_keras) and Keras 3."""
    tf_keras.utils.set_random_seed(seed)
    keras.utils.set_random_seed(seed)
    if deterministic:
        tf.config.experimental.enable_op_determinism()


def text_tables(config: ExperimentConfig, experiment: ExperimentData, encoder, cache_dir: str):
    """Token-id table [V, L] and, in frozen mode, BERT vectors [V, d] (cached on disk).

    A model without text (`model.use_text=false`) gets `encoder`'s all-padding
    token rows (none for a `NoTextEncoder`) and no vectors.
    """
    catalog = experiment.data.catalog
    texts = catalog.texts(config.text.text_fields)
    texts = np.where(np.char.str_len(texts) > 0, texts, catalog.item_ids)
    if isinstance(encoder, NoTextEncoder):
        tokens = encoder.tokenize(texts, config.text.sequence_length)
        return texts, np.concatenate([np.zeros((FIRST_ITEM_INDEX, tokens.shape[1]), np.int32), tokens]), None
    tokens, lengths = encoder.tokenize(texts, config.text.sequence_length, return_lengths=True)
    warn_about_cut_texts(lengths, config.text.sequence_length, encoder.backbone.max_sequence_length)
    token_table = np.concatenate([np.zeros((FIRST_ITEM_INDEX, tokens.shape[1]), np.int32), tokens])
    if config.text.mode != "frozen" or not config.model.use_text:
        return texts, token_table, None
    key = hashlib.sha256(("\n".join(texts.tolist()) + encoder.fingerprint() + str(tokens.shape)).encode()).hexdigest()
    cache_path = os.path.join(cache_dir, "text_cache.npz")
    if os.path.exists(cache_path):
        with np.load(cache_path, allow_pickle=False) as cached:
            if str(cached["key"]) == key:
                return texts, token_table, cached["features"]
    vectors = encoder.encode(tokens, config.text.encode_batch_size)  # reports its own progress
    features = np.concatenate([np.zeros((FIRST_ITEM_INDEX, vectors.shape[1]), np.float32), vectors])
    np.savez(cache_path + ".tmp.npz", key=np.asarray(key), features=features)
    os.replace(cache_path + ".tmp.npz", cache_path)
    return texts, token_table, features


def build_assets(experiment: ExperimentData, texts, token_table, text_features) -> ModelAssets:
    catalog = experiment.data.catalog
    titles = catalog.text_fields.get("title", texts)
    attributes = None
    if catalog.attributes is not None and catalog.attributes.shape[1] > 0:
        attributes = np.concatenate(
            [np.zeros((FIRST_ITEM_INDEX, catalog.attributes.shape[1]), np.float32), catalog.attributes]
        )
    return ModelAssets(
        label_kind=experiment.data.label_kind,
        item_ids=catalog.item_ids,
        item_titles=np.asarray(titles, str),
        item_texts=texts,
        id_slots=experiment.vocabulary.id_slots,
        item_popularity=experiment.item_popularity(),
        cold_items=experiment.cold_items(),
        token_ids=token_table,
        text_features=text_features,
        item_attributes=attributes,
        attribute_names=list(catalog.attribute_names),
        scenario_values=experiment.context.scenarios.values,
        user_feature_values={k: v.values for k, v in experiment.context.user_features.items()},
    )


def build_variables(model, assets, config: ExperimentConfig):
    """Creates every variable (task heads included) before the optimizer sees them."""
    batch = example_batch(assets, config.data.max_history)
    model(batch)
    model.compute_loss(batch, training=False)


def write_config(config: ExperimentConfig, output_dir: str):
    """Writes `config.json` atomically (an interruption never leaves half a file)."""
    path = os.path.join(output_dir, CONFIG_FILE)
    config.to_json_file(path + ".tmp")
    os.replace(path + ".tmp", path)


def train(config: ExperimentConfig, output_dir: str, data=None, experiment: ExperimentData = None) -> dict:
    """Trains, saves and evaluates; returns the metrics dict (also in metrics.json).

    `experiment` (from `prepare_experiment_data`) replaces loading and splitting `data`.
    """
    config.validate()
    backup_dir = backup_dir_of(output_dir)
    check_backup_config(backup_dir, config)  # before the slow setup: refuse to mix two runs
    train_config = config.train
    set_seeds(train_config.seed, train_config.deterministic)

    timings = {}
    started = time.time()
    if experiment is None:
        experiment = prepare_experiment_data(config, data)
    timings["data_seconds"] = time.time() - started
    logger.info(
        "Data: %d train examples, %d test examples, %d items (%d cold)",
        len(experiment.train_examples),
        len(experiment.test_examples),
        experiment.vocabulary.num_items,
        len(experiment.split.cold_item_ids),
    )

    strategy = make_strategy(train_config.strategy, train_config.tpu)
    # output_dir on the chief, elsewhere a temporary directory deleted on leaving, also when training raises
    with writer_directory(output_dir, strategy, keras_dirs=[backup_dir]) as writes_to:
        return _train_writing(config, experiment, strategy, writes_to, backup_dir, timings)


def _train_writing(config: ExperimentConfig, experiment: ExperimentData, strategy, writes_to, backup_dir, timings):
    """`train` from the text tables on, writing into `writes_to` (see `distribution.writer_directory`)."""
    train_config = config.train
    chief = is_chief(strategy)
    started = time.time()
    with strategy.scope():
        catalog_texts = experiment.data.catalog.texts(config.text.text_fields)
        # Keras 3 (the BERT backbone) reads its global dtype policy when the
        # backbone is built; the tf_keras towers get theirs in build_model.
        previous_policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(mixed_precision_policy(config))
        try:  # an id-only item tower reads no text: no encoder is loaded, run or saved
            encoder = (
                load_text_encoder(config.text.encoder, catalog_texts, config.text, train_config.seed)
                if config.model.use_text
                else NoTextEncoder()
            )
        finally:
            keras.mixed_precision.set_global_policy(previous_policy)
        os.makedirs(writes_to, exist_ok=True)  # data and encoder are ready: artifacts from here on
        texts, token_table, text_features = text_tables(config, experiment, encoder, writes_to)
        assets = build_assets(experiment, texts, token_table, text_features)
        timings["text_seconds"] = time.time() - started
        model = build_model(config, assets, encoder)
        build_variables(model, assets, config)
        model.compile(optimizer=make_optimizer(config))

    write_config(config, writes_to)
    features = experiment.training_features(config.model.training_targets, config.model.empty_history_targets)
    num_rows = len(features["next_items" if "next_items" in features else "target"])
    stopper = validation_early_stopping(experiment, assets.num_index_rows, train_config, writes_to)
    log_path = os.path.join(writes_to, TRAINING_LOG_FILE)

    def forget_earlier_run():  # a fresh run: the old curve and best epoch belong to another run
        if os.path.exists(log_path):
            os.remove(log_path)
        if stopper is not None:
            stopper.reset()

    started = time.time()
    resumable_fit(
        model,
        features,
        config,
        backup_dir,
        callbacks=validation_callbacks(stopper, train_config),  # before the loggers: they see val_recall@10 and lr
        loggers=[
            tf_keras.callbacks.TensorBoard(os.path.join(writes_to, "logs"), update_freq="epoch"),
            tf_keras.callbacks.CSVLogger(log_path, append=True),
        ],
        on_fresh_start=forget_earlier_run,
        chief=chief,
    )
    timings["train_seconds"] = time.time() - started
    best_epoch = stopper.restore_best(model) if stopper is not None else None
    fit_cold_item_ids(model, config)
    empty_history_choice = None
    if config.model.empty_history_answer == "validation":
        empty_history_choice = choose_empty_history_answer(
            model, assets, experiment.validation_examples(), experiment.split.excludes_seen_items
        )
        logger.info("Empty-history answer: %s (%s)", empty_history_choice["answer"], empty_history_choice["reason"])
        config = config.updated({"model": {"empty_history_answer": empty_history_choice["answer"]}})
        model.config = dataclasses.replace(model.config, empty_history_answer=empty_history_choice["answer"])
        write_config(config, writes_to)

    save_weights(model, writes_to)
    assets.save(writes_to)
    save_text_encoder(encoder, os.path.join(writes_to, TEXT_ENCODER_DIR))

    started = time.time()
    metrics = evaluate_on_test(model, assets, experiment, train_config, ranks_path=os.path.join(writes_to, RANKS_FILE))
    timings["eval_seconds"] = time.time() - started
    metrics["empty_history_choice"] = empty_history_choice  # None when the config named the answer
    metrics["training"] = {
        "loss": epoch_losses(log_path),
        "chief": chief,  # False: a multi-worker non-chief, whose artifacts went to a deleted temporary directory
        "text_encoder": encoder.source,
        "text_encoder_pretrained": encoder.pretrained,
        "trainable_variables": len(model.trainable_variables),
        "id_hashing": hashed_tables(config, assets)[2],  # None without model.id_hash_buckets
        "train_examples": len(experiment.train_examples),
        "training_rows": num_rows,
        "epochs_run": len(epoch_losses(log_path)),
        "best_epoch": None if best_epoch is None else best_epoch + 1,
        "validation_recall@10": None if stopper is None else [stopper.curve[e] for e in sorted(stopper.curve)],
        **timings,
    }
    with open(os.path.join(writes_to, METRICS_FILE), "w", encoding="utf-8") as f:
        json.dump(metrics, f, indent=2)
    return metrics


def evaluate_model_dir(
    model_dir: str, config_overrides: dict = None, output_path: str = None, ranks_path: str = None
) -> dict:
    """Evaluates a trained model on its split of `config.data` (optionally overridden, e.g. another source).

    `output_path` receives the metrics JSON, `ranks_path` each test example's
    target rank in every pass (`ExampleRanks`, .npz: what `tfrec-llm compare` reads).
    """
    trained = TrainedModel.load(model_dir)
    config = trained.config.updated(config_overrides or {})
    catalog_ids = trained.assets.item_ids
    from tfrec_llm.training.experiment_data import vocabularies_from_assets  # pylint: disable=import-outside-toplevel
    from tfrec_llm.training.experiment_data import load_source  # pylint: disable=import-outside-toplevel

    data = load_source(config)
    vocabulary, context = vocabularies_from_assets(trained.assets, data.user_features)
    unknown = len(set(data.catalog.item_ids.tolist()) - set(catalog_ids.tolist()))
    if unknown:
        logger.warning(
            "%d catalog items of the evaluation data are unknown to the model: they score as "
            "unknown items and cannot be retrieved.",
            unknown,
        )
    experiment = prepare_experiment_data(config, data, vocabulary, context)
    metrics = evaluate_on_test(trained.model, trained.assets, experiment, config.train, ranks_path=ranks_path)
    if output_path:
        with open(output_path, "w", encoding="utf-8") as f:
            json.dump(metrics, f, indent=2)
    return metrics
