"""Tests for the per-example ranks kept beside metrics.json."""

import numpy as np
import pytest

from tfrec_llm.evaluation.example_ranks import ExampleRanks


def _ranks():
    return ExampleRanks(
        user_ids=np.array(["u1", "u2", "u3"]),
        ranks={"overall": np.array([1, 5, 30]), "history_cuts/last_1": np.array([2, 60, 1])},
        strata={"tail": np.array([True, False, True])},
    )


def test_values_at_a_place_are_its_examples_per_example_metric():
    ranks = _ranks()
    values, mask = ranks.values_at("overall", "recall@10")
    np.testing.assert_array_equal(values, [1.0, 1.0, 0.0])
    assert mask.all()
    values, mask = ranks.values_at("tail", "recall@10")  # a stratum: full-history ranks of its examples
    np.testing.assert_array_equal(values[mask], [1.0, 0.0])
    values, mask = ranks.values_at("history_cuts/last_1", "recall@10")
    np.testing.assert_array_equal(values, [1.0, 0.0, 1.0])
    assert mask.all()


def test_save_and_load_round_trip(tmp_path):
    path = str(tmp_path / "test_ranks.npz")
    _ranks().save(path)
    loaded = ExampleRanks.load(path)
    np.testing.assert_array_equal(loaded.user_ids, ["u1", "u2", "u3"])
    assert set(loaded.ranks) == {"overall", "history_cuts/last_1"}
    np.testing.assert_array_equal(loaded.ranks["history_cuts/last_1"], [2, 60, 1])
    np.testing.assert_array_equal(loaded.strata["tail"], [True, False, True])


def test_an_unknown_place_names_what_is_held():
    with pytest.raises(KeyError, match="held"):
        _ranks().values_at("cold_items", "recall@50")
    with pytest.raises(KeyError, match="last_1"):
        _ranks().values_at("history_cuts/last_3", "recall@10")


def test_arrays_of_another_length_are_refused():
    with pytest.raises(ValueError, match="2 rows for 3 examples"):
        ExampleRanks(np.array(["a", "b", "c"]), {"overall": np.array([1, 2])}, {})


def test_save_writes_the_path_it_is_given_even_without_the_npz_suffix(tmp_path):
    _ranks().save(str(tmp_path / "ranks"))  # NumPy alone would write ranks.npz
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ranks"]
    np.testing.assert_array_equal(ExampleRanks.load(str(tmp_path / "ranks")).ranks["overall"], [1, 5, 30])


def _numpy_file(save, **arrays):
    def write(path):
        with open(path, "wb") as f:
            save(f, **arrays)

    return write


@pytest.mark.parametrize(
    "write, message",
    [
        (lambda p: p.write_text("user,rank\nu1,3\n"), "not a per-example ranks file"),
        (lambda p: p.write_bytes(b""), "not a per-example ranks file"),
        (_numpy_file(np.save, arr=np.arange(3)), "one array, not an .npz"),
        (_numpy_file(np.savez, user_ids=np.array(["u1"])), "no rank:overall"),
        (_numpy_file(np.savez, other=np.arange(2)), "no rank:overall, user_ids"),
    ],
)
def test_a_file_that_is_not_a_ranks_file_is_refused_by_name(tmp_path, write, message):
    path = tmp_path / "metrics.npz"
    write(path)
    with pytest.raises(ValueError, match=message) as raised:
        ExampleRanks.load(str(path))
    assert str(path) in str(raised.value)
