"""Tests for the joint TFRS model: embeddings and the three task losses by hand."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf
import tf_keras
from tfrec_llm.data.item_vocabulary import OOV_SLOT
from tiny_fixtures import (
    first_batch,
    make_built_model,
    make_tiny_assets,
    make_tiny_config,
    make_tiny_encoder,
    make_tiny_world,
)

BATCH = 12
TASKS_OFF = {"retrieval_weight": 0.0, "ranking_weight": 0.0, "attribute_weight": 0.0, "item_id_dropout": 0.0}


@pytest.fixture(name="world", scope="module")
def _world(tmp_path_factory):
    """Frozen-text assets of the tiny world and a batch with a repeated target (an accidental hit)."""
    encoder = make_tiny_encoder()
    experiment, assets = make_tiny_assets(make_tiny_config(), encoder, tmp_path_factory.mktemp("cache"))
    batch = first_batch(experiment.train_examples, BATCH)
    batch["target"] = batch["target"].copy()
    batch["target"][1] = batch["target"][0]
    return assets, batch


def _model(assets, **model_overrides):
    return make_built_model(make_tiny_config(model={**TASKS_OFF, **model_overrides}), assets)


def _embeddings(model, batch):
    outputs = model(batch)
    return (
        outputs["user_embedding"].numpy().astype(np.float64),
        outputs["item_embedding"].numpy().astype(np.float64),
        outputs["rating"].numpy().astype(np.float64),
    )


def _retrieval_loss(users, items, ids, temperature, sampling_probability=None):
    """TFRS Retrieval by hand: mean softmax cross-entropy over the batch, accidental hits removed."""
    scores = users @ items.T / temperature
    if sampling_probability is not None:
        scores = scores - np.log(np.clip(sampling_probability[ids], 1e-6, 1.0))[None, :]
    accidental = (ids[:, None] == ids[None, :]) & ~np.eye(len(ids), dtype=bool)
    scores = np.where(accidental, -1e9, scores)
    top = scores.max(axis=1, keepdims=True)
    log_softmax = scores - top - np.log(np.exp(scores - top).sum(axis=1, keepdims=True))
    return -np.trace(log_softmax) / len(ids)


def _binary_cross_entropy(labels, logits):
    return np.mean(np.maximum(logits, 0) - logits * labels + np.log1p(np.exp(-np.abs(logits))))


def test_call_returns_unit_embeddings_and_a_rating_per_example(world):
    assets, batch = world
    users, items, rating = _embeddings(_model(assets, retrieval_weight=1.0), batch)
    assert users.shape == items.shape == (BATCH, 16)
    np.testing.assert_allclose(np.linalg.norm(users, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(items, axis=1), 1.0, rtol=1e-5)
    assert rating.shape == (BATCH,)


def test_retrieval_loss_matches_the_hand_computed_in_batch_softmax(world):
    assets, batch = world
    model = _model(assets, retrieval_weight=2.0, temperature=0.5, negatives="in_batch")
    users, items, _ = _embeddings(model, batch)
    expected = 2.0 * _retrieval_loss(users, items, batch["target"], 0.5)
    np.testing.assert_allclose(model.compute_loss(batch).numpy(), expected, rtol=1e-4)


def test_logq_correction_subtracts_the_log_sampling_probability(world):
    assets, batch = world
    model = _model(assets, retrieval_weight=1.0, logq_correction=True, negatives="in_batch")
    assert model.uses_logq
    users, items, _ = _embeddings(model, batch)
    probability = assets.item_popularity / assets.item_popularity.sum()
    expected = _retrieval_loss(users, items, batch["target"], model.config.temperature, probability)
    np.testing.assert_allclose(model.compute_loss(batch).numpy(), expected, rtol=1e-4)


def _full_catalog_loss(users, table, targets, candidates, temperature):
    """Softmax cross-entropy over every candidate row of the item table, by hand."""
    scores = np.where(candidates[None, :], users @ table.T / temperature, -1e9)
    top = scores.max(axis=1, keepdims=True)
    log_softmax = scores - top - np.log(np.exp(scores - top).sum(axis=1, keepdims=True))
    return -log_softmax[np.arange(len(targets)), targets]


def test_full_catalog_loss_is_the_softmax_over_every_trained_item(world):
    assets, batch = world
    model = _model(assets, retrieval_weight=1.0, temperature=0.5, negatives="full_catalog")
    users, _, _ = _embeddings(model, batch)
    table = model.item_embeddings(tf.range(assets.num_index_rows)).numpy().astype(np.float64)
    candidates = assets.id_slots > OOV_SLOT  # items seen in training; never padding, unknown or cold items
    expected = _full_catalog_loss(users, table, batch["target"], candidates, 0.5).mean()
    np.testing.assert_allclose(model.compute_loss(batch).numpy(), expected, rtol=1e-4)


@pytest.fixture(name="sequences", scope="module")
def _sequences(world):
    assets, _ = world
    from tfrec_llm.training.experiment_data import prepare_experiment_data  # pylint: disable=import-outside-toplevel

    experiment = prepare_experiment_data(make_tiny_config(), make_tiny_world())
    features = experiment.training_features("every_position")
    return {k: v[:BATCH] for k, v in features.items()}


def test_every_position_loss_sums_each_position_by_hand(world, sequences):
    assets, _ = world
    model = _model(assets, retrieval_weight=1.0, temperature=0.5, negatives="full_catalog")
    table = model.item_embeddings(tf.range(assets.num_index_rows))
    # The user embedding at position p is the inference embedding of the history up to p.
    losses, valid = [], sequences["next_items"] != 0
    for p in range(sequences["sequence"].shape[1]):
        rows = np.flatnonzero(valid[:, p])
        if not len(rows):
            continue
        history = np.where(np.arange(sequences["sequence"].shape[1]) <= p, sequences["sequence"][rows], 0)
        features = {
            "history": history,
            "scenario": sequences["scenario"][rows, p],
            **{k: v[rows] for k, v in sequences.items() if k.startswith("user_")},
        }
        users = model.user_embeddings(features, lambda indices: tf.gather(table, indices)).numpy()
        losses.append(
            _full_catalog_loss(
                users.astype(np.float64),
                table.numpy().astype(np.float64),
                sequences["next_items"][rows, p],
                assets.id_slots > OOV_SLOT,
                0.5,
            )
        )
    expected = np.concatenate(losses).mean()  # every target counts once
    np.testing.assert_allclose(model.compute_loss(sequences).numpy(), expected, rtol=1e-4)


@pytest.fixture(name="first_sequences", scope="module")
def _first_sequences():
    """Per-position rows with empty-history targets (each user's first event), some of them in this batch."""
    from tfrec_llm.training.experiment_data import prepare_experiment_data  # pylint: disable=import-outside-toplevel

    experiment = prepare_experiment_data(make_tiny_config(), make_tiny_world())
    features = {k: v[:BATCH] for k, v in experiment.training_features("every_position", True).items()}
    assert (features["first_items"] != 0).sum() >= 2
    return features


def _served_empty_history_users(model, features, table):
    """`user_embeddings` of an empty history (all padding): what a user without history is served."""
    served = {
        "history": np.zeros_like(features["sequence"]),
        "scenario": features["first_scenario"],
        **{k: v for k, v in features.items() if k.startswith("user_")},
    }
    return model.user_embeddings(served, lambda indices: tf.gather(table, indices)).numpy()


def test_empty_history_targets_are_scored_from_the_served_empty_history(world, sequences, first_sequences):
    assets, _ = world
    model = _model(assets, retrieval_weight=1.0, temperature=0.5, negatives="full_catalog")
    table = model.item_embeddings(tf.range(assets.num_index_rows))
    per_position_only = {k: v for k, v in first_sequences.items() if not k.startswith("first_")}
    first = first_sequences["first_items"] != 0
    empty = _served_empty_history_users(model, first_sequences, table)[first]
    first_losses = _full_catalog_loss(
        empty.astype(np.float64),
        table.numpy().astype(np.float64),
        first_sequences["first_items"][first],
        assets.id_slots > OOV_SLOT,
        0.5,
    )
    # compute_loss is the mean over targets: the per-position mean and the first targets' losses, each once.
    positions = int((first_sequences["next_items"] != 0).sum())
    expected = (float(model.compute_loss(per_position_only)) * positions + first_losses.sum()) / (
        positions + len(first_losses)
    )
    np.testing.assert_allclose(model.compute_loss(first_sequences).numpy(), expected, rtol=1e-4)


def test_empty_history_targets_teach_the_no_history_answer(world, first_sequences):
    assets, _ = world
    model = _model(assets, retrieval_weight=1.0, negatives="full_catalog")
    model.compile(tf_keras.optimizers.Adam(0.01))
    first = first_sequences["first_items"] != 0
    targets = first_sequences["first_items"][first]

    def first_item_log_likelihood():
        table = model.item_embeddings(tf.range(assets.num_index_rows)).numpy()
        empty = _served_empty_history_users(model, first_sequences, table)[first]
        return -_full_catalog_loss(empty, table, targets, assets.id_slots > OOV_SLOT, 0.1).mean()

    before = first_item_log_likelihood()
    for _ in range(20):
        model.train_step(first_sequences)
    # Measured: -4.14 -> -2.82; trained on the same rows without their first targets: -4.25.
    assert first_item_log_likelihood() > before + 0.5


def test_every_position_in_batch_loss_scores_each_target_against_the_others(world, sequences):
    assets, _ = world
    model = _model(assets, retrieval_weight=1.0, temperature=0.5, negatives="in_batch")
    assert np.isfinite(model.compute_loss(sequences).numpy())
    with tf.GradientTape() as tape:
        loss = model.compute_loss(sequences, training=True)
    grads = tape.gradient(loss, model.user_tower.trainable_variables)
    assert all(g is not None for g in grads)


def test_rating_loss_is_the_weighted_mean_squared_error(world):
    assets, batch = world
    model = _model(assets, ranking_weight=0.3)
    _, _, rating = _embeddings(model, batch)
    expected = 0.3 * np.mean((batch["label"] - rating) ** 2)
    np.testing.assert_allclose(model.compute_loss(batch).numpy(), expected, rtol=1e-4)
    assert [m.name for m in model.ranking_task._ranking_metrics] == ["rating_rmse"]


def test_click_labels_use_logistic_loss_and_auc(world):
    assets, batch = world
    model = make_built_model(
        make_tiny_config(model={**TASKS_OFF, "ranking_weight": 1.0}), dataclasses.replace(assets, label_kind="click")
    )
    clicks = dict(batch, label=(batch["label"] > 3).astype(np.float32))
    _, _, logits = _embeddings(model, clicks)
    np.testing.assert_allclose(
        model.compute_loss(clicks).numpy(), _binary_cross_entropy(clicks["label"], logits), rtol=1e-4
    )
    assert [m.name for m in model.ranking_task._ranking_metrics] == ["click_auc"]


def test_attribute_task_predicts_item_attributes_from_text(world):
    assets, batch = world
    model = _model(assets, attribute_weight=0.5)
    assert model.uses_attributes
    text = model.item_tower.text_vectors(tf.constant(batch["target"]))
    logits = model.attribute_head(text).numpy().astype(np.float64)
    expected = 0.5 * _binary_cross_entropy(assets.item_attributes[batch["target"]], logits)
    np.testing.assert_allclose(model.compute_loss(batch).numpy(), expected, rtol=1e-4)


def test_attribute_task_needs_text_attributes_and_a_weight(world):
    assets, _ = world
    assert not _model(assets, attribute_weight=0.0).uses_attributes
    assert not _model(assets, attribute_weight=0.5, use_text=False).uses_attributes
    assert not _model(dataclasses.replace(assets, item_attributes=None), attribute_weight=0.5).uses_attributes


def test_task_losses_add_up(world):
    assets, batch = world
    weights = {"retrieval_weight": 1.0, "ranking_weight": 0.2, "attribute_weight": 0.1}
    parts = 0.0
    for name, weight in weights.items():
        tf_keras.utils.set_random_seed(0)  # the same initial weights in every model
        parts += _model(assets, **{name: weight}).compute_loss(batch).numpy()
    tf_keras.utils.set_random_seed(0)
    total = _model(assets, **weights).compute_loss(batch).numpy()
    np.testing.assert_allclose(total, parts, rtol=1e-4)


@pytest.mark.parametrize("negatives", ["full_catalog", "in_batch"])
def test_the_id_text_prior_adds_its_weighted_loss_over_the_catalog_or_the_batch_targets(world, negatives):
    assets, batch = world
    model = _model(assets, id_text_prior_weight=0.5, negatives=negatives)
    tower = model.item_tower
    tower.id_text_prior_loss()  # builds the map
    # The batch's targets get the rows their text predicts (gap 0); every other item keeps a random row.
    targets = np.unique(batch["target"])
    unit_text = tf.math.l2_normalize(tf.gather(tower.text_features, targets), axis=-1)
    rows = tower.id_embedding.embeddings.numpy()
    rows[tower.id_slots.numpy()[targets]] = tower.id_prior_map(unit_text).numpy()
    tower.id_embedding.embeddings.assign(rows)
    whole_catalog = tower.id_text_prior_loss().numpy()
    assert whole_catalog > 0.1 and tower.id_text_prior_loss(tf.constant(targets)).numpy() < 1e-5
    expected = 0.5 * whole_catalog if negatives == "full_catalog" else 0.0
    np.testing.assert_allclose(model.compute_loss(batch).numpy(), expected, rtol=1e-4, atol=1e-5)


def test_catalog_table_path_gives_the_same_users_as_the_in_batch_path(world):
    """Evaluation reads history vectors from a catalog table; training embeds the batch's distinct items."""
    assets, batch = world
    model = _model(assets, retrieval_weight=1.0)
    table = model.item_embeddings(tf.range(assets.num_index_rows))
    users = model.user_embeddings(batch, lambda indices: tf.gather(table, indices))
    outputs = model(batch)
    np.testing.assert_allclose(users.numpy(), outputs["user_embedding"].numpy(), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        tf.gather(table, batch["target"]).numpy(), outputs["item_embedding"].numpy(), rtol=1e-4, atol=1e-6
    )


def test_text_geometry_loss_compares_the_batch_targets_projected_and_bert_cosines(world):
    assets, batch = world
    model = _model(assets, text_geometry_weight=0.5)
    targets = list(dict.fromkeys(batch["target"].tolist()))  # distinct, in order of appearance
    projected = model.item_tower.text_vectors(tf.constant(targets)).numpy().astype(np.float64)
    raw = assets.text_features[targets].astype(np.float64)

    def cosines(vectors):
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        return unit @ unit.T

    expected = 0.5 * np.mean((cosines(projected) - cosines(raw)) ** 2)
    assert len(targets) < len(batch["target"])  # the repeated target counts once
    np.testing.assert_allclose(model.compute_loss(batch).numpy(), expected, rtol=1e-4)
    assert _model(assets, text_geometry_weight=0.0).compute_loss(batch).numpy() == 0.0


def test_two_paths_score_the_mean_of_an_id_and_a_text_cosine_and_training_lowers_the_loss(world, sequences):
    assets, batch = world
    model = _model(assets, retrieval_weight=1.0, fusion="paths", negatives="full_catalog")
    users, items, _ = _embeddings(model, batch)
    half = 16
    assert users.shape == items.shape == (BATCH, 2 * half)
    np.testing.assert_allclose(np.linalg.norm(users, axis=1), 1.0, rtol=1e-5)

    def cosines(a, b):
        return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)

    id_part = cosines(users[:, :half], items[:, :half])
    text_part = cosines(users[:, half:], items[:, half:])
    np.testing.assert_allclose((users * items).sum(1), (id_part + text_part) / 2, rtol=1e-5, atol=1e-6)
    model.compile(tf_keras.optimizers.Adam(0.01))
    before = float(model.compute_loss(sequences))
    for _ in range(20):
        model.train_step(sequences)
    assert float(model.compute_loss(sequences)) < before - 0.1


@pytest.mark.parametrize("share", [0.0, 0.5, 1.0])
def test_path_loss_share_mixes_the_joint_softmax_with_each_paths_own(world, share):
    assets, batch = world
    model = _model(
        assets, retrieval_weight=1.0, temperature=0.5, fusion="paths", negatives="full_catalog", path_loss_share=share
    )
    users, _, _ = _embeddings(model, batch)
    table = model.item_embeddings(tf.range(assets.num_index_rows)).numpy().astype(np.float64)
    candidates, targets, half = assets.id_slots > OOV_SLOT, batch["target"], 16
    joint = _full_catalog_loss(users, table, targets, candidates, 0.5)
    # Each half is a unit vector / sqrt(2): its own softmax scores the path's cosines alone.
    id_path, text_path = (
        _full_catalog_loss(2 * users[:, part], table[:, part], targets, candidates, 0.5)
        for part in (slice(None, half), slice(half, None))
    )
    expected = ((1 - share) * joint + share * (id_path + text_path) / 2).mean()
    np.testing.assert_allclose(model.compute_loss(batch).numpy(), expected, rtol=1e-4)
    if share > 0:
        assert not np.allclose(expected, joint.mean(), rtol=1e-3)  # the share changes the loss


def test_path_loss_share_needs_the_paths_fusion():
    from tfrec_llm.config.config_checks import ConfigError  # pylint: disable=import-outside-toplevel

    with pytest.raises(ConfigError, match="path_loss_share needs model.fusion"):
        make_tiny_config(model={"path_loss_share": 0.5}).validate()
