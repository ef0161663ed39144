"""`update_model` and `tfrec-llm update`: growth, checkpoints, errors and resuming."""

import csv
import dataclasses
import json
import logging
import os
import shutil
import signal
import sys

import numpy as np
import pytest
from tfrec_llm.cli import main
from tfrec_llm.data.data_split import split_interactions
from tfrec_llm.data.interaction_data import InteractionData, Interactions
from tfrec_llm.experiment_config import UpdateConfig
from tfrec_llm.training.event_log import load_events, save_events
from tfrec_llm.training.incremental_update import update_model
from tfrec_llm.training.resume import BackupConfigError
from tfrec_llm.training.trained_model import TrainedModel

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE_ITEMS = 40  # the base catalog; items 40..47 arrive with the update
CUT = 5000  # base events before this timestamp
UPDATE_EPOCHS = 3
REPLAY = 1.0  # pinned: the step counts below assume it (the default is 4)
KILL_AFTER_BATCHES = 15  # mid-epoch 2 of 3 (10 steps of 8 windows per epoch)


def base_and_new():
    """(base data, new data): the tiny world cut in time; the new part brings 8 new items and scenario 'app'."""
    from tiny_fixtures import make_tiny_world  # pylint: disable=import-outside-toplevel

    world = make_tiny_world()
    events = world.interactions
    is_base = (events.timestamps < CUT) & np.isin(events.item_ids, world.catalog.item_ids[:BASE_ITEMS])
    base = InteractionData("base", events.select(is_base), world.catalog.select(np.arange(BASE_ITEMS)))
    later = events.select(~is_base)
    scenarios = np.where(np.arange(len(later)) % 2 == 0, "app", "default")
    new = Interactions(later.user_ids, later.item_ids, later.timestamps, later.labels, scenarios)
    return base, InteractionData("new", new, world.catalog)


@pytest.fixture(scope="module")
def base_dir(tmp_path_factory):
    from tfrec_llm.training.trainer import train  # pylint: disable=import-outside-toplevel
    from tiny_fixtures import make_tiny_config  # pylint: disable=import-outside-toplevel

    directory = str(tmp_path_factory.mktemp("base"))
    base, _ = base_and_new()
    train(make_tiny_config(train={"epochs": 2, "checkpoint_every_steps": 2}), directory, data=base)
    save_events(directory, split_interactions(base.interactions, "leave_last_out").train)
    return directory


@pytest.fixture(scope="module")
def updated(base_dir, tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("updated"))
    summary = update_model(
        base_dir, base_and_new()[1], directory, UpdateConfig(epochs=UPDATE_EPOCHS, replay_ratio=REPLAY)
    )
    return directory, summary


def test_update_grows_the_model_and_writes_a_loadable_model_dir(base_dir, updated):
    directory, summary = updated
    old, new = TrainedModel.load(base_dir), TrainedModel.load(directory)  # the grown checkpoint restores
    assert new.assets.item_ids.tolist() == old.assets.item_ids.tolist() + [f"i{i}" for i in range(40, 48)]
    assert new.assets.scenario_values.tolist() == ["app", "default"]
    newly = new.assets.id_slots[len(old.assets.id_slots) :]
    assert (newly > old.assets.id_slots.max()).all()  # every new item was trained on: a slot of its own
    assert np.array_equal(new.assets.text_features[: len(old.assets.text_features)], old.assets.text_features)
    events = load_events(directory)
    assert len(events) == len(load_events(base_dir)) + summary["update"]["new_events"]
    assert summary["update"]["new_items"] == 8 and summary["update"]["new_values"]["scenario"] == ["app"]
    assert summary["update"]["windows_with_new_events"] > 0 and summary["update"]["replayed_windows"] > 0
    assert len(summary["update"]["loss"]) == UPDATE_EPOCHS and np.isfinite(summary["update"]["loss"]).all()
    with open(os.path.join(directory, "metrics.json"), encoding="utf-8") as f:
        assert json.load(f)["update"]["new_events"] == summary["update"]["new_events"]


def test_an_updated_model_updates_again(updated, tmp_path):
    directory, _ = updated
    world = base_and_new()[1]
    more = world.interactions.select(np.arange(20))
    later = Interactions(more.user_ids, more.item_ids, more.timestamps + 100000, more.labels, None)
    summary = update_model(
        directory, InteractionData("more", later, world.catalog), str(tmp_path), UpdateConfig(1, replay_ratio=REPLAY)
    )
    assert summary["update"]["new_items"] == 0
    assert len(TrainedModel.load(str(tmp_path)).assets.item_ids) == 48


def test_unknown_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a tfrec-llm model directory"):
        update_model(str(tmp_path / "nothing"), base_and_new()[1], str(tmp_path / "out"))


def test_a_model_with_hashed_ids_is_refused_before_anything_is_written(tmp_path):
    from tiny_fixtures import make_tiny_config  # pylint: disable=import-outside-toplevel

    model_dir = tmp_path / "hashed"
    model_dir.mkdir()
    make_tiny_config(model={"id_hash_buckets": 64}).to_json_file(str(model_dir / "config.json"))
    with pytest.raises(ValueError, match="hashes its ids into 64 buckets"):
        update_model(str(model_dir), base_and_new()[1], str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_an_item_id_with_another_text_is_refused(base_dir, tmp_path):
    _, new = base_and_new()
    titles = new.catalog.text_fields["title"].copy()
    titles[3] = "a different film"
    catalog = dataclasses.replace(new.catalog, text_fields={"title": titles})
    with pytest.raises(ValueError, match=r"1 item ids of 'new' are known to the model with another text.*'i3'"):
        update_model(base_dir, dataclasses.replace(new, catalog=catalog), str(tmp_path))
    assert not os.path.exists(tmp_path / "checkpoint")


def test_another_text_encoder_is_refused(base_dir, tmp_path):
    with pytest.raises(ValueError, match="text encoder 'hf://other/model' differs from the model's 'none'"):
        update_model(base_dir, base_and_new()[1], str(tmp_path), text_encoder="hf://other/model")


def test_a_replaced_saved_encoder_is_refused(base_dir, tmp_path):
    import shutil  # pylint: disable=import-outside-toplevel

    from tfrec_llm.training.model_assets import ModelAssets  # pylint: disable=import-outside-toplevel

    copy = tmp_path / "model"
    shutil.copytree(base_dir, copy)
    assets = ModelAssets.load(str(copy))
    assets.text_features[2:] += 1.0  # vectors the saved encoder does not produce
    assets.save(str(copy))
    with pytest.raises(ValueError, match="does not reproduce the model's stored text vectors"):
        update_model(str(copy), base_and_new()[1], str(tmp_path / "out"))


def test_new_data_without_the_user_features_the_model_reads_is_refused(base_dir, tmp_path):
    import shutil  # pylint: disable=import-outside-toplevel

    from tfrec_llm.training.model_assets import ModelAssets  # pylint: disable=import-outside-toplevel

    copy = tmp_path / "model"
    shutil.copytree(base_dir, copy)
    assets = ModelAssets.load(str(copy))
    assets.user_feature_values = {"age": np.array(["18", "25"])}
    assets.save(str(copy))
    with pytest.raises(ValueError, match=r"reads the user features \['age'\]; the new data 'new' lacks \['age'\]"):
        update_model(str(copy), base_and_new()[1], str(tmp_path / "out"))


def test_events_of_items_in_no_catalog_are_refused(base_dir, tmp_path):
    _, new = base_and_new()
    events = new.interactions
    strange = Interactions(events.user_ids, np.where(np.arange(len(events)) == 0, "zz", events.item_ids),
                           events.timestamps, events.labels, events.scenarios)  # fmt: skip
    with pytest.raises(ValueError, match=r"1 events of 'new' name items in no catalog, e.g. \['zz'\]"):
        update_model(base_dir, dataclasses.replace(new, interactions=strange), str(tmp_path))


def test_update_into_its_own_model_dir_is_refused(base_dir):
    with pytest.raises(ValueError, match="must differ from --model-dir"):
        update_model(base_dir, base_and_new()[1], base_dir)


def test_an_interrupted_update_resumes_only_with_its_settings(base_dir, tmp_path, monkeypatch, caplog):
    import tf_keras  # pylint: disable=import-outside-toplevel

    from kill_resume import Interrupted, interrupting_backup  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(tf_keras.callbacks, "BackupAndRestore", interrupting_backup(KILL_AFTER_BATCHES))
    with pytest.raises(Interrupted):
        update_model(
            base_dir, base_and_new()[1], str(tmp_path), UpdateConfig(epochs=UPDATE_EPOCHS, replay_ratio=REPLAY)
        )
    monkeypatch.undo()
    with pytest.raises(BackupConfigError, match=r"update\.replay_ratio: backup 1\.0, now 0\.5"):
        update_model(base_dir, base_and_new()[1], str(tmp_path), UpdateConfig(UPDATE_EPOCHS, replay_ratio=0.5))
    other = shutil.copytree(base_dir, tmp_path / "other_model")
    with pytest.raises(BackupConfigError, match=r"update\.source_model_dir"):
        update_model(str(other), base_and_new()[1], str(tmp_path), UpdateConfig(UPDATE_EPOCHS, replay_ratio=REPLAY))
    later = base_and_new()[1]
    fewer = dataclasses.replace(later, interactions=later.interactions.select(np.arange(len(later.interactions) - 1)))
    with pytest.raises(BackupConfigError, match=r"update\.new_events"):
        update_model(base_dir, fewer, str(tmp_path), UpdateConfig(UPDATE_EPOCHS, replay_ratio=REPLAY))
    with caplog.at_level(logging.INFO, logger="tfrec_llm"):
        summary = update_model(base_dir, later, str(tmp_path), UpdateConfig(UPDATE_EPOCHS, replay_ratio=REPLAY))
    assert "Resuming the update from backup: epoch 2, step 4" in caplog.text  # the backup after batch 14
    assert len(summary["update"]["loss"]) == UPDATE_EPOCHS  # epoch 1's loss too, from the interrupted run
    assert not (tmp_path / "backup").exists()  # finished: the backup and its record are gone


def test_update_replays_4_older_windows_per_new_one_by_default(monkeypatch, tmp_path):
    # replay 4: chosen on ml-100k's validation slices, then within 5% of an early-stopped retrain (README)
    import tfrec_llm.training.incremental_update as incremental_update  # pylint: disable=import-outside-toplevel

    given = []

    def capture(model_dir, data_overrides, output_dir, settings, text_encoder=None):
        given.append(settings)
        raise ValueError("captured")

    monkeypatch.setattr(incremental_update, "update_from_source", capture)
    command = ["update", "--model-dir", str(tmp_path), "--data", "builtin", "--output-dir", str(tmp_path / "out")]
    assert main(command) == 2
    assert given[0].replay_ratio == UpdateConfig().replay_ratio == 4.0


def _write_csvs(directory, data):
    events = data.interactions
    with open(directory / "events.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["user_id", "item_id", "timestamp", "rating", "scenario"])
        writer.writerows(zip(events.user_ids, events.item_ids, events.timestamps, events.labels, events.scenarios))
    with open(directory / "items.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["item_id", "title"])
        writer.writerows(zip(data.catalog.item_ids, data.catalog.text_fields["title"]))


def test_cli_update_writes_the_model_and_an_unknown_model_dir_exits_2(base_dir, tmp_path, capsys):
    _write_csvs(tmp_path, base_and_new()[1])
    data = ["--data", str(tmp_path / "events.csv"), "--items", str(tmp_path / "items.csv")]
    missing = ["update", "--model-dir", str(tmp_path / "none"), "--output-dir", str(tmp_path / "x")]
    assert main(missing + data) == 2
    assert "not a tfrec-llm model directory" in capsys.readouterr().err
    out = tmp_path / "out"
    command = ["update", "--model-dir", base_dir, "--output-dir", str(out), "--epochs", "1", "--text-encoder", "none"]
    assert main(command + data) == 0
    printed = capsys.readouterr().out
    assert "8 new items" in printed and f"model written to {out}" in printed
    assert TrainedModel.load(str(out)).config.data.source == str(tmp_path / "events.csv")


def _child(base, output_dir, kill_after):
    sys.path.insert(0, TESTS_DIR)
    from kill_resume import kill_after_batches  # pylint: disable=import-outside-toplevel

    if kill_after:
        kill_after_batches(kill_after)
    summary = update_model(base, base_and_new()[1], output_dir, UpdateConfig(epochs=UPDATE_EPOCHS, replay_ratio=REPLAY))
    print("LOSS " + json.dumps(summary["update"]["loss"]))


def _run(base, output_dir, kill_after=0):
    from kill_resume import run_child  # pylint: disable=import-outside-toplevel

    return run_child(__file__, base, str(output_dir), str(kill_after))


@pytest.mark.slow
def test_a_killed_update_resumes_to_the_uninterrupted_weights(base_dir, updated, tmp_path):
    killed = _run(base_dir, tmp_path, KILL_AFTER_BATCHES)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    assert not (tmp_path / "checkpoint").exists()
    resumed = _run(base_dir, tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "Resuming the update from backup: epoch 2" in resumed.stderr
    loss = json.loads([line for line in resumed.stdout.splitlines() if line.startswith("LOSS ")][-1][len("LOSS ") :])
    np.testing.assert_allclose(loss, updated[1]["update"]["loss"], rtol=1e-5)  # every epoch's, epoch 1 included
    expected, actual = TrainedModel.load(updated[0]).model, TrainedModel.load(str(tmp_path)).model
    for a, b in zip(expected.variables, actual.variables):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-5, atol=1e-6, err_msg=a.name)


if __name__ == "__main__":
    import logging

    logging.basicConfig(level=logging.INFO)
    _child(sys.argv[1], sys.argv[2], int(sys.argv[3]))
