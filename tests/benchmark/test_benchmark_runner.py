"""Tests for the benchmark harness: a real (tiny) run, the report's tables, targets and child processes."""

import json
import os

import numpy as np
import pytest

import tfrec_llm  # noqa: F401  (legacy Keras before TensorFlow)
from tfrec_llm.benchmark.benchmark_models import (
    EASE,
    FULL,
    ID_ONLY,
    ID_ONLY_PEERS,
    MODEL_NAMES,
    POPULARITY,
    TEXT_ONLY,
    model_configs,
    peer_descriptions,
)
from tfrec_llm.benchmark.report import format_models_markdown
from tfrec_llm.benchmark.runner import ease_skip_reason, report_data_section, run_benchmark, run_model
from tfrec_llm.benchmark.targets import (
    NO_SPARSE_USERS_NOTE,
    PUBLISHED_ML_100K_LEAVE_LAST_OUT_RECALL_AT_10,
    evaluate_targets,
)
from tfrec_llm.data.interaction_data import InteractionData, Interactions, ItemCatalog
from tfrec_llm.experiment_config import ConfigError, ExperimentConfig
from tfrec_llm.models.text.text_encoder import TextEncoder

TOPIC_WORDS = [
    ["space", "galaxy", "star"],
    ["love", "romance", "heart"],
    ["crime", "detective", "murder"],
    ["war", "soldier", "battle"],
]
NUM_ITEMS = 48
LATE_ITEMS_FROM = 40  # items 40..47 only occur after LATE_TIME: cold-start items of the time cut
LATE_TIME = 950
NUM_USERS = 60
EARLY_EVENTS_PER_USER = 8  # before EARLY_TIME, always training events: no user is sparse (<= 5)
EARLY_TIME = 600
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def cold_start_world(seed: int = 0) -> InteractionData:
    """Users stick to one topic; an item's topic shows only in its title's words."""
    rng = np.random.default_rng(seed)
    topics = np.arange(NUM_ITEMS) % len(TOPIC_WORDS)
    titles = [f"{rng.choice(TOPIC_WORDS[t])} story {i}" for i, t in enumerate(topics)]
    catalog = ItemCatalog(
        [f"i{i}" for i in range(NUM_ITEMS)],
        {"title": titles},
        attributes=np.eye(len(TOPIC_WORDS))[topics],
        attribute_names=["a", "b", "c", "d"],
    )
    users, items, times = [], [], []
    for user in range(NUM_USERS):
        topic = rng.integers(len(TOPIC_WORDS))
        early = np.sort(rng.integers(0, EARLY_TIME, EARLY_EVENTS_PER_USER))
        for time in np.concatenate([early, np.sort(rng.integers(EARLY_TIME, 1000, rng.integers(1, 7)))]):
            allowed = (topics == topic) & ((np.arange(NUM_ITEMS) < LATE_ITEMS_FROM) | (time >= LATE_TIME))
            users.append(f"u{user}")
            items.append(f"i{rng.choice(np.flatnonzero(allowed))}")
            times.append(time)
    interactions = Interactions(users, items, times, rng.integers(1, 6, len(users)), None)
    return InteractionData("tiny", interactions, catalog)


def benchmark_config() -> ExperimentConfig:
    return ExperimentConfig.from_dict(
        {
            "text": {
                "encoder": "none",
                "sequence_length": 8,
                "fallback_num_layers": 1,
                "fallback_hidden_dim": 16,
                "fallback_intermediate_dim": 32,
            },
            "model": {"embedding_dim": 8, "lstm_units": 8, "ranking_hidden_units": [8]},
            "train": {"epochs": 1, "batch_size": 64, "verbose": 0},
        }
    )


@pytest.fixture(scope="module")
def benchmark(tmp_path_factory):
    output_dir = str(tmp_path_factory.mktemp("benchmark"))
    encoded = []  # one entry per catalog encoding
    original_encode = TextEncoder.encode

    def counting_encode(self, *args, **kwargs):
        encoded.append(1)
        return original_encode(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TextEncoder, "encode", counting_encode)
        result = run_benchmark(benchmark_config(), output_dir, data=cold_start_world(), separate_processes=False)
    return {**result, "encodings": len(encoded)}


def _read_report(benchmark):
    with open(benchmark["report_json"], encoding="utf-8") as f:
        return json.load(f)


def _markdown_table(markdown: str, first_header_cells: str):
    lines = markdown.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"| {first_header_cells} |"))
    rows = []
    for line in lines[start:]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split(" | ")])
    return rows[0], rows[2:]


def _value(number):
    return "–" if number is None else f"{number:.4f}"


def test_writes_reports_plots_and_every_model(benchmark):
    report = _read_report(benchmark)
    assert list(report["models"]) == list(report["timings"]) == list(MODEL_NAMES)
    assert EASE in MODEL_NAMES and POPULARITY in MODEL_NAMES
    for name in MODEL_NAMES:
        assert os.path.exists(os.path.join(benchmark["model_dirs"][name], "metrics.json"))
        assert report["models"][name]["overall"]["n"] == report["models"][FULL]["overall"]["n"] > 0
        assert report["timings"][name]["process_seconds"] > 0
        assert report["timings"][name]["peak_rss_mb"] is None  # in-process run: not measured
    assert len(report["models"][FULL]["training"]["loss"]) == 1
    assert report["models"][POPULARITY]["training"]["loss"] == report["models"][EASE]["training"]["loss"] == []
    assert set(report["targets"]) == {
        "beats_peers",
        "beats_published_sasrec",
        "id_only_published",
        "tail_and_head",
        "cold_start_items",
        "sparse_users",
        "history_cuts",
    }
    assert report["models"][FULL]["strata"]["cold_items"]["n"] > 0
    assert report["published_reference"] is None  # not ml-100k leave-last-out
    assert set(benchmark["plots"]) == {"popularity_buckets", "user_strata", "loss_curves"}
    for path in benchmark["plots"].values():
        with open(path, "rb") as f:
            assert f.read(8) == PNG_SIGNATURE
    with open(benchmark["report_md"], encoding="utf-8") as f:
        assert f.read() == benchmark["markdown"]


def test_the_catalog_is_encoded_once_and_shared_by_the_text_models(benchmark):
    # text_only encodes the item texts; full reuses them (same encoder and texts) instead of encoding again.
    assert benchmark["encodings"] == 1
    caches = {}
    for name in (TEXT_ONLY, FULL):
        with np.load(os.path.join(benchmark["model_dirs"][name], "text_cache.npz")) as cache:
            caches[name] = cache["features"]
    np.testing.assert_array_equal(caches[TEXT_ONLY], caches[FULL])


def test_models_differ_only_in_their_towers(benchmark):
    report = _read_report(benchmark)
    for name in (*ID_ONLY_PEERS, TEXT_ONLY, FULL):
        with open(os.path.join(benchmark["model_dirs"][name], "config.json"), encoding="utf-8") as f:
            saved = json.load(f)
        assert saved["train"] == report["config"]["train"] and saved["data"] == report["config"]["data"]
        expected = {TEXT_ONLY: (True, False), FULL: (True, True)}.get(name, (False, True))  # id-only peers
        assert (saved["model"]["use_text"], saved["model"]["use_item_ids"]) == expected
        towers = {"id_only_attention": "attention"}
        assert saved["model"]["user_tower"] == towers.get(name, report["config"]["model"]["user_tower"])


def test_models_table_shows_every_model_and_its_time_per_epoch(benchmark):
    report = _read_report(benchmark)
    header, rows = _markdown_table(benchmark["markdown"], "model | recall@10")
    assert header[:7] == ["model", "recall@10", "recall@50", "ndcg@10", "mrr", "s/epoch", "epochs"]
    assert [row[0] for row in rows] == list(MODEL_NAMES)
    for row in rows:
        cells, overall = dict(zip(header, row)), report["models"][row[0]]["overall"]
        assert [cells[m] for m in ("recall@10", "recall@50", "ndcg@10", "mrr")] == [
            _value(overall[m]) for m in ("recall@10", "recall@50", "ndcg@10", "mrr")
        ]
    timing = report["timings"][FULL]
    assert timing["epochs"] == 1 and timing["seconds_per_epoch"] == pytest.approx(timing["train_seconds"])
    assert dict(zip(header, rows[-1]))["s/epoch"] == f"{timing['seconds_per_epoch']:.1f}"
    assert report["timings"][EASE]["seconds_per_epoch"] is None  # closed form: no epochs
    assert f"l2 = {report['models'][EASE]['training']['ease']['l2']:g}" in dict(zip(header, rows[1]))["note"]


def test_costs_table_shows_each_models_cpu_seconds(benchmark):
    report = _read_report(benchmark)
    header, rows = _markdown_table(benchmark["markdown"], "model | train+eval s")
    assert header[:3] == ["model", "train+eval s", "CPU s"]
    for row in rows:
        cost = report["timings"][row[0]]
        assert cost["cpu_seconds"] > 0
        assert dict(zip(header, row))["CPU s"] == f"{cost['cpu_seconds']:.1f}"


def test_best_model_per_stratum_and_its_ratio_to_the_second(benchmark):
    report = _read_report(benchmark)
    header, rows = _markdown_table(benchmark["markdown"], "stratum | best recall@10")
    assert [row[0] for row in rows] == ["overall", *report["models"][FULL]["strata"]]
    checked = 0
    for row in rows:
        place = row[0]
        values = {
            name: (m["overall"] if place == "overall" else m["strata"][place])["recall@10"]
            for name, m in report["models"].items()
        }
        ranked = sorted((v for v in values.values() if v is not None), reverse=True)
        if not ranked:
            assert row[1] == "–"
            continue
        assert values[row[1]] == ranked[0] and row[2] == _value(ranked[0])
        if len(ranked) > 1 and ranked[1]:
            ratio, second = row[3].split(" (vs ")
            second, gap = second.split("; gap ")
            assert ratio == f"{ranked[0] / ranked[1]:.2f}" and values[second] == ranked[1]
            entry = report["best_by_stratum"][place]["recall@10"]
            low, high = entry["gap_ci95"]
            assert gap == f"[{low:+.4f}, {high:+.4f}])" and low <= ranked[0] - ranked[1] <= high
            assert 0.0 <= entry["best_ahead"] <= 1.0
            checked += 1
    assert checked > 0


def test_history_cuts_have_their_own_table_never_a_stratum(benchmark):
    report = _read_report(benchmark)
    _, stratum_rows = _markdown_table(benchmark["markdown"], "stratum | model")
    assert not [row for row in stratum_rows if "cut" in row[0] or row[0].startswith("last_")]
    assert {"head", "tail", "cold_items", "sparse_users"} <= {row[0] for row in stratum_rows}
    header, rows = _markdown_table(benchmark["markdown"], "history | model")
    assert [(row[0], row[1]) for row in rows] == [
        (cut, name) for cut in ("last_1", "last_3", "last_5") for name in MODEL_NAMES
    ]
    for row in rows:
        assert dict(zip(header, row))["recall@10"] == _value(
            report["models"][row[1]]["history_cuts"][row[0]]["recall@10"]
        )
    # Popularity ignores the history: every cut scores as the full history does.
    for cut in report["models"][POPULARITY]["history_cuts"].values():
        assert cut == report["models"][POPULARITY]["overall"]


def test_every_measurable_check_has_the_interval_of_its_margin_over_the_test_users(benchmark):
    report = _read_report(benchmark)
    recall = report["targets"]["beats_peers"]["checks"][0]
    low, high = recall["margin_ci95"]
    assert low <= recall["margin"] <= high and 0.0 <= recall["pass_share"] <= 1.0
    assert recall["reference_model"] in MODEL_NAMES
    assert "margin 95% interval" in benchmark["markdown"]
    assert f"[{low:+.4f}, {high:+.4f}]" in benchmark["markdown"]


def test_sparse_target_is_not_measurable_without_sparse_users(benchmark):
    report = _read_report(benchmark)
    assert report["models"][FULL]["strata"]["sparse_users"]["n"] == 0
    sparse = report["targets"]["sparse_users"]
    assert sparse["passed"] is None and sparse["note"] == NO_SPARSE_USERS_NOTE
    assert [check["stratum"] for check in sparse["checks"]] == ["sparse_users"]  # no substitute stratum
    assert "| sparse_users | n/a | full sparse_users recall@10" in benchmark["markdown"]


def test_factorized_top_k_table_lists_every_model(benchmark):
    report = _read_report(benchmark)
    header, rows = _markdown_table(benchmark["markdown"], "model | top_10_accuracy")
    assert header == ["model", "top_10_accuracy", "top_50_accuracy", "top_100_accuracy"]
    assert [row[0] for row in rows] == list(MODEL_NAMES)
    full_row = dict(zip(header, rows[-1]))
    assert full_row["top_10_accuracy"] == f"{report['models'][FULL]['factorized_top_k']['top_10_accuracy']:.4f}"
    assert full_row["top_100_accuracy"] == "–"  # 48 items: no top-100
    assert report["factorized_top_k"]["comparable_with_published"] is False
    assert "NOT comparable" in benchmark["markdown"]


def _summary(r10, r50=0.3, ndcg=0.05, n=10):
    return {"recall@10": r10, "recall@50": r50, "ndcg@10": ndcg, "mrr": 0.1, "n": n}


def _hand_report(overall, strata, cuts):
    return {
        "overall": overall,
        "strata": strata,
        "history_cuts": {"last_1": _summary(cuts[0]), "last_3": _summary(cuts[1]), "last_5": _summary(0.1)},
    }


def hand_reports():
    popularity = _hand_report(
        _summary(0.08, ndcg=0.04),
        {"tail": _summary(0.0, 0.90), "head": _summary(0.1, 0.90), "sparse_users": _summary(0.05)},
        (0.08, 0.08),
    )
    ease = _hand_report(
        _summary(0.15, ndcg=0.07),
        {"tail": _summary(0.0, 0.20), "head": _summary(0.1, 0.60), "sparse_users": _summary(0.10)},
        (0.12, 0.16),
    )
    id_only = _hand_report(
        _summary(0.10, ndcg=0.08),
        {"tail": _summary(0.0, 0.25), "head": _summary(0.1, 0.50), "sparse_users": _summary(0.12)},
        (0.09, 0.10),
    )
    full = _hand_report(
        _summary(0.17, ndcg=0.085),
        {
            "tail": _summary(0.0, 0.40),
            "head": _summary(0.1, 0.58),
            "sparse_users": _summary(0.20),
            "cold_items": _summary(0.1, 0.25),
            "warm_items": _summary(0.2, 0.30),
        },
        (0.15, 0.21),
    )
    return {
        POPULARITY: popularity,
        EASE: ease,
        ID_ONLY: id_only,
        TEXT_ONLY: _hand_report(_summary(0.1), {}, (0, 0)),
        FULL: full,
    }


def test_targets_compare_the_full_model_with_the_best_peer():
    targets = evaluate_targets(hand_reports(), "tiny", "time_cut")
    recall, ndcg = targets["beats_peers"]["checks"]
    # Recall@10: best peer EASE 0.15 -> 0.165 required, 0.17 passes; NDCG@10: best peer id_only 0.08 -> 0.088.
    assert recall["reference"].startswith("best peer (ease)") and recall["required"] == pytest.approx(0.165)
    assert recall["passed"] is True and recall["margin"] == pytest.approx(0.005)
    assert ndcg["reference"].startswith("best peer (id_only)") and ndcg["margin"] == pytest.approx(-0.003)
    assert targets["beats_peers"]["passed"] is False
    tail, head = targets["tail_and_head"]["checks"]
    # Tail and head compare with EASE and id_only only: popularity's 0.90 does not count.
    assert tail["reference"].startswith("best peer (id_only)") and tail["required"] == pytest.approx(0.375)
    assert head["reference"].startswith("best peer (ease)") and head["required"] == pytest.approx(0.57)
    assert targets["tail_and_head"]["passed"] is True
    last_1, last_3 = targets["history_cuts"]["checks"]
    # Same cut, best peer EASE: 0.15 < 1.3 x 0.12 = 0.156; 0.21 >= 1.3 x 0.16 = 0.208.
    assert last_1["stratum"] == "history_cuts/last_1" and last_1["margin"] == pytest.approx(-0.006)
    assert last_3["passed"] is True and last_3["margin"] == pytest.approx(0.002)
    sparse = targets["sparse_users"]
    assert sparse["passed"] is True and sparse["checks"][0]["required"] == pytest.approx(0.18)
    cold = targets["cold_start_items"]
    assert cold["passed"] is True and cold["checks"][0]["required"] == pytest.approx(0.24)


def test_published_rows_count_only_on_ml_100k_leave_last_out():
    elsewhere = evaluate_targets(hand_reports(), "tiny", "time_cut")
    for name in ("beats_published_sasrec", "id_only_published"):
        assert elsewhere[name]["passed"] is None and elsewhere[name]["comparable"] is False
    targets = evaluate_targets(hand_reports(), "ml-100k", "leave_last_out")
    sasrec = targets["beats_published_sasrec"]["checks"][0]
    assert sasrec["required"] == pytest.approx(0.2211) and sasrec["margin"] == pytest.approx(0.17 - 0.2211)
    gru4rec = targets["id_only_published"]["checks"][0]
    assert (gru4rec["model"], gru4rec["reference"], gru4rec["required"]) == (ID_ONLY, "GRU4Rec (published)", 0.187)
    assert targets["id_only_published"]["passed"] is False


def test_sparse_target_has_no_substitute_when_there_are_no_sparse_users():
    reports = hand_reports()
    for report in reports.values():
        report["strata"]["sparse_users"] = {"recall@10": None, "recall@50": None, "n": 0}
    sparse = evaluate_targets(reports, "tiny", "time_cut")["sparse_users"]
    assert sparse["passed"] is None and sparse["note"] == NO_SPARSE_USERS_NOTE
    assert sparse["checks"][0]["stratum"] == "sparse_users" and sparse["checks"][0]["value"] is None


def test_a_skipped_ease_is_reported_and_left_out_of_the_peers():
    reason = ease_skip_reason(50_000)
    assert reason.startswith("EASE skipped: 50000 items") and ease_skip_reason(100) is None
    reports = hand_reports()
    reports[EASE] = {"skipped": reason}
    recall = evaluate_targets(reports, "tiny", "time_cut")["beats_peers"]["checks"][0]
    assert recall["reference"].startswith("best peer (id_only)") and recall["required"] == pytest.approx(0.11)
    timings = {name: {} for name in reports}
    timings[EASE] = {"skipped": reason}
    table = format_models_markdown({"models": reports, "timings": timings})
    assert f"| ease | – | – | – | – | – | – | {reason} |" in table


def test_models_table_adds_the_published_rows_on_ml_100k_leave_last_out():
    reports = hand_reports()
    timings = {name: {} for name in reports}
    without = format_models_markdown({"models": reports, "timings": timings, "published_reference": None})
    assert "(published)" not in without
    table = format_models_markdown(
        {"models": reports, "timings": timings, "published_reference": PUBLISHED_ML_100K_LEAVE_LAST_OUT_RECALL_AT_10}
    )
    assert "| SASRec (published) | 0.2010 | – | – | – | – | – | reference row, not run here |" in table
    assert "| GRU4Rec (published) | 0.1870 |" in table and "| EASE (published) | 0.1480 |" in table


def test_model_configs_switch_only_the_towers():
    config = benchmark_config()
    configs = model_configs(config)
    assert list(configs) == list(MODEL_NAMES)
    assert configs[FULL] == configs[POPULARITY] == configs[EASE] == config
    assert configs[ID_ONLY].model.use_text is False and configs[TEXT_ONLY].model.use_item_ids is False
    assert configs[TEXT_ONLY].train == configs[ID_ONLY].train == config.train


def test_text_initialised_ids_stay_with_the_models_that_read_text():
    # id_only peers must not read text through their id rows, and text_only has no id rows to start.
    config = benchmark_config().updated({"model": {"id_init": "text", "id_init_scale": 4.0}})
    configs = model_configs(config)
    assert configs[FULL].model.id_init == "text"
    assert {configs[name].model.id_init for name in (*ID_ONLY_PEERS, TEXT_ONLY)} == {"random"}


def test_the_id_text_prior_stays_with_the_full_model():
    # It needs ids and text: the id-only peers and text_only would be refused (and must not read text).
    configs = model_configs(benchmark_config().updated({"model": {"id_text_prior_weight": 0.3}}))
    assert configs[FULL].model.id_text_prior_weight == 0.3
    assert {configs[name].model.id_text_prior_weight for name in (*ID_ONLY_PEERS, TEXT_ONLY)} == {0.0}


def test_peer_config_sets_the_id_only_peers_only_and_cannot_give_them_text():
    config = benchmark_config()
    configs = model_configs(config, {"model": {"embedding_dim": 16, "lstm_units": 24, "use_text": True}})
    for name in ID_ONLY_PEERS:
        assert (configs[name].model.embedding_dim, configs[name].model.lstm_units) == (16, 24)
        assert configs[name].model.use_text is False and configs[name].train == config.train
    assert configs[FULL] == configs[POPULARITY] == config
    assert configs[TEXT_ONLY].model.embedding_dim == config.model.embedding_dim
    assert configs["id_only_attention"].model.user_tower == "attention"
    descriptions = peer_descriptions({"model": {"embedding_dim": 16}})
    assert all(descriptions[name].endswith("; peer config: model.embedding_dim=16") for name in ID_ONLY_PEERS)
    assert "peer config" not in descriptions[FULL] + descriptions[TEXT_ONLY]


def test_peer_config_sets_the_learning_rate_of_all_peers_or_of_the_one_named():
    config = benchmark_config()
    shared = model_configs(config, {"train": {"learning_rate": 0.004, "weight_average_momentum": 0.99}})
    assert {shared[name].train.learning_rate for name in ID_ONLY_PEERS} == {0.004}
    assert {shared[name].train.weight_average_momentum for name in ID_ONLY_PEERS} == {0.99}
    named = model_configs(
        config,
        {"model": {"embedding_dim": 16}, "id_only": {"model": {"lstm_units": 24}, "train": {"learning_rate": 0.004}}},
    )
    assert (named[ID_ONLY].train.learning_rate, named[ID_ONLY].model.lstm_units) == (0.004, 24)
    assert named["id_only_attention"].train == config.train
    assert {named[name].model.embedding_dim for name in ID_ONLY_PEERS} == {16}
    for name in (FULL, TEXT_ONLY, POPULARITY):
        assert named[name].train == config.train
        assert named[name].model.embedding_dim == config.model.embedding_dim
    descriptions = peer_descriptions({"id_only": {"train": {"learning_rate": 0.004}}})
    assert descriptions[ID_ONLY].endswith("; peer config: train.learning_rate=0.004")
    assert "peer config" not in descriptions["id_only_attention"]


@pytest.mark.parametrize(
    "peer_config, message",
    [
        ({"train": {"epochs": 99}}, "train.epochs cannot differ between models"),
        ({"id_only": {"train": {"early_stopping_patience": 1}}}, "'id_only': train.early_stopping_patience cannot"),
        ({"data": {"split": "time_cut"}}, "unknown section 'data'"),
        ({"full": {"model": {"embedding_dim": 8}}}, "unknown section 'full'"),
        ({"id_only": {"data": {}}}, "peer config 'id_only'"),
        ({"model": {"embedding_width": 16}}, "embedding_width"),
        ({"model": {"embedding_dim": 0}}, "embedding_dim"),
    ],
)
def test_a_bad_peer_config_fails_before_anything_is_trained_or_written(tmp_path, peer_config, message):
    output_dir = tmp_path / "never"
    with pytest.raises(ConfigError, match=message):
        run_benchmark(benchmark_config(), str(output_dir), peer_config=peer_config)
    assert not output_dir.exists()


def test_child_process_measures_memory_and_matches_in_process(tmp_path):
    config, data = benchmark_config(), cold_start_world()
    child_metrics, cost = run_model(POPULARITY, config, data, str(tmp_path / "child"), separate_process=True)
    here_metrics, _ = run_model(POPULARITY, config, data, str(tmp_path / "here"), separate_process=False)
    assert child_metrics["overall"] == here_metrics["overall"]
    assert 0 < cost["rss_before_run_mb"] <= cost["peak_rss_mb"]
    assert cost["memory_source"] in ("VmHWM", "ru_maxrss")
    assert 0 < cost["wall_seconds"] < cost["process_seconds"]
    assert 0 < cost["cpu_seconds"] <= cost["wall_seconds"] * os.cpu_count() + 0.1


def test_unknown_model_name():
    with pytest.raises(ValueError, match="Unknown benchmark model 'gru'"):
        run_model("gru", benchmark_config(), cold_start_world(), "/nonexistent")


def test_the_report_names_every_joined_source_not_the_unused_default():
    data = type("Data", (), {"name": "ml100k+mls", "interactions": [0] * 7, "catalog": [0] * 3})()
    joined = ExperimentConfig().updated({"data": {"scenario_sources": {"ml100k": "a/ml-100k", "mls": "b/mls"}}})
    section = report_data_section(joined, data)
    assert section["source"] == "ml100k=a/ml-100k, mls=b/mls"  # was the unused default source, "builtin"
    assert (section["name"], section["interactions"], section["items"]) == ("ml100k+mls", 7, 3)
    plain = ExperimentConfig().updated({"data": {"source": "a/ml-100k"}})
    assert report_data_section(plain, data)["source"] == "a/ml-100k"
