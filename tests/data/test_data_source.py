import dataclasses
import sys
import types
from typing import Tuple

import pytest

from tfrec_llm.data import data_source
from tfrec_llm.data.data_error import DataError
from tfrec_llm.data.data_source import load_data, parse_overrides
from tfrec_llm.data.loaders.tabular_files import TabularColumns


@dataclasses.dataclass(frozen=True)
class FakeWorldConfig:
    num_items: int = 10
    rating_noise: float = 0.5
    scenarios: Tuple[str, ...] = ("books", "films")
    shares: Tuple[float, ...] = (0.5, 0.5)
    balanced: bool = True
    name: str = "world"

    def __post_init__(self):
        if self.num_items < 1:
            raise ValueError(f"num_items must be >= 1, got {self.num_items}")


@pytest.fixture
def fake_builtin_world(monkeypatch):
    """Stands in for tfrec_llm.data.synthetic.builtin_world; records the config it gets."""
    module = types.ModuleType("tfrec_llm.data.synthetic.builtin_world")
    module.BuiltinWorldConfig = FakeWorldConfig
    module.received = []
    module.generate_builtin_world = lambda config: module.received.append(config) or "world data"
    monkeypatch.setitem(sys.modules, "tfrec_llm.data.synthetic.builtin_world", module)
    import tfrec_llm.data.synthetic  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(tfrec_llm.data.synthetic, "builtin_world", module, raising=False)
    return module


@pytest.fixture
def recorded_loaders(monkeypatch):
    """Replaces the loaders by recorders of their arguments."""
    calls = []

    def recorder(name):
        return lambda *args, **kwargs: calls.append((name, args, kwargs)) or name

    monkeypatch.setattr(data_source, "load_movielens_directory", recorder("directory"))
    monkeypatch.setattr(data_source, "load_tabular_files", recorder("tabular"))
    import tfrec_llm.data.loaders.tfds_source as tfds_source  # pylint: disable=import-outside-toplevel

    monkeypatch.setattr(tfds_source, "load_tfds", recorder("tfds"))
    return calls


def test_builtin_without_overrides_uses_the_default_config(fake_builtin_world):
    assert load_data("builtin") == "world data"
    assert fake_builtin_world.received == [FakeWorldConfig()]


def test_builtin_overrides_are_converted_to_the_field_types(fake_builtin_world):
    load_data("builtin:num_items=500, rating_noise=0.25,scenarios=a|b|c,shares=0.2|0.8,balanced=false,name=x")

    assert fake_builtin_world.received == [
        FakeWorldConfig(
            num_items=500,
            rating_noise=0.25,
            scenarios=("a", "b", "c"),
            shares=(0.2, 0.8),
            balanced=False,
            name="x",
        )
    ]


@pytest.mark.parametrize(
    "spec, message",
    [
        (
            "builtin:size=3",
            r"unknown setting 'size'; settings are \['balanced', 'name', 'num_items'",
        ),
        ("builtin:num_items=many", r"num_items must be an integer, got 'many'"),
        ("builtin:rating_noise=high", r"rating_noise must be a number, got 'high'"),
        ("builtin:balanced=maybe", r"balanced must be true or false, got 'maybe'"),
        ("builtin:num_items", r"expected key=value, got 'num_items'"),
        ("builtin:num_items=0", r"invalid settings \{'num_items': 0\}: num_items must be >= 1"),
    ],
)
def test_bad_builtin_overrides_are_data_errors(fake_builtin_world, spec, message):
    with pytest.raises(DataError, match=message):
        load_data(spec)
    assert fake_builtin_world.received == []


def test_real_builtin_world_module_if_present():
    pytest.importorskip("tfrec_llm.data.synthetic.builtin_world")

    data = load_data("builtin:num_items=60,num_users=40,num_interactions=400,seed=3")

    assert (len(data.catalog), len(data.interactions)) == (60, 400)


def test_tfds_prefix_routes_to_load_tfds_with_its_options(recorded_loaders):
    result = load_data("tfds:movielens/100k-ratings", tfds_manual_dir="/manual", tfds_data_dir="/data", strict=True)

    assert result == "tfds"
    assert recorded_loaders == [
        (
            "tfds",
            ("movielens/100k-ratings",),
            {"data_dir": "/data", "manual_dir": "/manual", "strict": True},
        )
    ]


def test_existing_directory_routes_to_the_movielens_loader(recorded_loaders, tmp_path):
    assert load_data(str(tmp_path), strict=True) == "directory"
    assert recorded_loaders == [("directory", (str(tmp_path),), {"strict": True})]


@pytest.mark.parametrize("file_name", ["events.csv", "events.PARQUET"])
def test_tabular_file_routes_with_items_and_columns(recorded_loaders, tmp_path, file_name):
    events = tmp_path / file_name
    events.write_text("user_id,item_id,timestamp\n")
    columns = TabularColumns(label="rating")

    assert load_data(str(events), items="items.csv", columns=columns) == "tabular"
    assert recorded_loaders == [("tabular", (str(events), "items.csv"), {"columns": columns, "strict": False})]


def test_tabular_file_without_items_asks_for_them(recorded_loaders, tmp_path):
    events = tmp_path / "events.csv"
    events.write_text("user_id,item_id,timestamp\n")

    with pytest.raises(
        DataError,
        match=r"events\.csv is an interactions file: also give the item catalog file with --items",
    ):
        load_data(str(events))
    assert recorded_loaders == []


def test_missing_tabular_file_is_named(tmp_path):
    with pytest.raises(DataError, match=r"Interactions file not found: .*missing\.csv"):
        load_data(str(tmp_path / "missing.csv"), items="items.csv")


@pytest.mark.parametrize("spec", ["ml-100k-typo", "data.json", "tfd:movielens/100k-ratings", ""])
def test_unknown_spec_lists_the_accepted_forms(spec):
    with pytest.raises(
        DataError,
        match=r"Cannot load --data .*builtin.*tfds:<name>.*MovieLens directory.*\.csv/\.parquet",
    ):
        load_data(spec)


def test_end_to_end_csv_through_the_dispatcher(tmp_path):
    events, items = tmp_path / "events.csv", tmp_path / "items.csv"
    events.write_text("user_id,item_id,timestamp\nu1,a,1\nu1,b,2\n")
    items.write_text("item_id,title\na,Shoe\nb,Hat\n")

    data = load_data(str(events), items=str(items))

    assert data.interactions.item_ids.tolist() == ["a", "b"]
    assert data.catalog.texts().tolist() == ["Shoe", "Hat"]


def test_parse_overrides_of_empty_text_is_empty():
    assert parse_overrides("", FakeWorldConfig) == {}
