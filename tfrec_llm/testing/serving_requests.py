"""Generated requests to exported signatures, and what a well-formed answer looks like.

`drive_signatures` sends requests mixing known ids, "" padding, empty rows,
unknown ids, odd unicode, unseen context values, out-of-range k and odd
natural-language requests to the retrieval, ranking and text_retrieval
SavedModels of an export directory, and counts the answers into a
`ServingTally` per signature. It imports TensorFlow and `tfrec_llm.serving`
only when called.
"""

import dataclasses
from typing import Dict, List, Optional

import numpy as np

from tfrec_llm.testing.family_tally import EXAMPLE_CHARACTERS, SHOWN_EXAMPLES

SERVING_MODELS = ("retrieval", "ranking", "text_retrieval")
# Models answering with top-k item lists (checked by retrieval_problem).
TOP_K_MODELS = ("retrieval", "text_retrieval")
UNKNOWN_IDS = ("zz-unknown", "-1", "0", "__unknown_item__")
ODD_IDS = ("映画", "e\u0301", "\U0001f600", " m1", "\x00", "x" * 10_000, "\n", "'\"")
CELL_POOL_WEIGHTS = (0.55, 0.25, 0.1, 0.1)  # known ids, "" padding, unknown ids, odd ids
EMPTY_ROW_PROBABILITY = 0.2
BATCH_SIZES = (0, 1, 2, 7)
ROW_LENGTHS = (0, 1, 3, 50, 1000)
K_VALUES = (-3, 0, 1, 5, 10**6, 2**31 - 1)
UNSEEN_CONTEXT_VALUES = ("", "unseen-value", "映画")
# Input names are spelled as a client spells them, not imported from tfrec_llm.serving: the
# driver checks the public contract (and the report loads TensorFlow only with --export-dir).
QUERY_INPUT = "query"  # text_retrieval's natural-language requests
TEXTS = ("", "   ", "a funny film for the whole family", "[CLS] [SEP] [PAD]", "word " * 5_000) + ODD_IDS


@dataclasses.dataclass
class ServingTally:
    """Generated requests to one signature and how its answers looked.

    Args:
        name: "model/signature".
        requests: requests sent.
        well_formed: answers that passed every check.
        malformed, errors: (problem, request summary) of the first failures.
        malformed_count, error_count: how many in all.
    """

    name: str
    requests: int = 0
    well_formed: int = 0
    malformed: List[List[str]] = dataclasses.field(default_factory=list)
    errors: List[List[str]] = dataclasses.field(default_factory=list)
    malformed_count: int = 0
    error_count: int = 0

    @property
    def failed(self) -> bool:
        return self.malformed_count > 0 or self.error_count > 0

    def as_json(self) -> dict:
        return dataclasses.asdict(self)

    def add(self, kind: str, problem: str, inputs: dict):
        summary = [problem[:EXAMPLE_CHARACTERS], request_summary(inputs)]
        if kind == "error":
            self.error_count += 1
            if len(self.errors) < SHOWN_EXAMPLES:
                self.errors.append(summary)
        else:
            self.malformed_count += 1
            if len(self.malformed) < SHOWN_EXAMPLES:
                self.malformed.append(summary)


def id_matrix(rng, rows: int, length: int, known: List[str]) -> np.ndarray:
    """[rows, length] ids: known ones, "" padding anywhere, unknown and odd ids; some rows empty."""
    pools = [known, ("",), UNKNOWN_IDS, ODD_IDS]
    picks = rng.choice(len(pools), size=rows * length, p=CELL_POOL_WEIGHTS)
    cells = [pools[pick][rng.integers(len(pools[pick]))] for pick in picks]
    matrix = np.array(cells, dtype=object).reshape(rows, length)
    if rows and rng.random() < EMPTY_ROW_PROBABILITY:
        matrix[rng.integers(rows)] = ""
    return matrix


def generated_request(rng, input_specs: dict, known: List[str], context_values: Dict[str, list]):
    """Inputs for one request: [B, L] id matrices, [B] context strings, a scalar k."""
    batch = int(rng.choice(BATCH_SIZES))
    inputs = {}
    for name, spec in input_specs.items():
        if spec.shape.rank == 0:
            inputs[name] = np.array(rng.choice(K_VALUES), dtype=np.int32)
        elif spec.shape.rank == 2:
            inputs[name] = id_matrix(rng, batch, int(rng.choice(ROW_LENGTHS)), known)
        elif name == QUERY_INPUT:
            pool = list(TEXTS) + list(known)
            inputs[name] = np.array([pool[pick] for pick in rng.integers(len(pool), size=batch)], dtype=object)
        else:
            values = list(context_values.get(name, [])) + list(UNSEEN_CONTEXT_VALUES)
            picks = rng.integers(len(values), size=batch)
            inputs[name] = np.array([values[pick] for pick in picks], dtype=object)
    return inputs


def retrieval_problem(outputs: dict, inputs: dict, top_k: int, catalog: set) -> Optional[str]:
    """Why a retrieval answer is malformed, or None."""
    item_ids = np.empty(outputs["item_ids"].shape, dtype=object)
    item_ids.flat[:] = [item_id.decode("utf-8") for item_id in outputs["item_ids"].flat]
    scores = outputs["scores"]
    requests = inputs["history"] if "history" in inputs else inputs[QUERY_INPUT]
    batch = requests.shape[0]
    k = top_k if "k" not in inputs else int(np.clip(inputs["k"], 0, top_k))
    if outputs["item_ids"].shape != (batch, k) or scores.shape != (batch, k):
        return f"shapes {outputs['item_ids'].shape}/{scores.shape}, expected ({batch}, {k})"
    if np.isnan(scores).any():
        return "NaN score"
    with np.errstate(invalid="ignore"):  # -inf - -inf in the padded tail
        unsorted = (np.diff(scores, axis=1) > 0).any()
    if unsorted:
        return "scores not sorted best first"
    if ((item_ids == "") != np.isneginf(scores)).any():
        return "an empty item id without a -inf score, or the reverse"
    histories = inputs["history"] if "history" in inputs else np.empty((batch, 0), dtype=object)
    for row, history in zip(item_ids, histories):
        ids = [i for i in row if i]
        if not set(ids) <= catalog:
            return f"ids outside the catalog: {sorted(set(ids) - catalog)[:3]}"
        if len(set(ids)) != len(ids):
            return "an item twice in one answer"
        if set(ids) & set(history.tolist()):
            return "a history item was recommended"
    return None


def ranking_problem(outputs: dict, inputs: dict) -> Optional[str]:
    """Why a ranking answer is malformed, or None."""
    for name in ("scores", "affinity"):
        if outputs[name].shape != inputs["candidates"].shape:
            return f"{name} shape {outputs[name].shape}, expected {inputs['candidates'].shape}"
        if not np.isfinite(outputs[name]).all():
            return f"non-finite {name}"
    return None


def request_summary(inputs: dict) -> str:
    shown = (f"{n}={v.tolist() if v.ndim == 0 else f'shape {v.shape}'}" for n, v in inputs.items())
    return ", ".join(shown)


def drive_signatures(export_dir: str, n: int, seed_value: int = 0) -> List[ServingTally]:
    """Sends `n` generated requests to each signature of the exported retrieval, ranking and text_retrieval models.

    Uses the latest version of each model in `export_dir`. Requests hold
    batches of 0 to 7 rows, rows of 0 to 1000 ids mixing known ids, ""
    padding anywhere, empty rows, unknown ids and odd unicode (and, for the
    context signatures, unseen context values and out-of-range k; for
    text_retrieval, empty, odd-unicode and 5,000-word requests). A
    retrieval answer is well-formed with shape [B, clip(k, 0, K)], scores
    best first without NaN, "" exactly where the score is -inf, only catalog
    ids, no repeats and no history item; a ranking answer with finite
    [B, C] scores and affinities. Raises ImportError without `tfrec_llm.serving`.
    """
    # pylint: disable=import-outside-toplevel
    import tensorflow as tf

    from tfrec_llm.serving.export.export_info import ExportInfo
    from tfrec_llm.serving.catalog.item_catalog_file import read_item_catalog
    from tfrec_llm.serving.saved_model_loading import load_latest_version

    rng = np.random.default_rng(seed_value)
    tallies = []
    for model_name in SERVING_MODELS:
        try:
            path, loaded = load_latest_version(export_dir, model_name)
        except FileNotFoundError as error:
            print(f"serving: {model_name} skipped ({error})")
            continue
        info = ExportInfo.read(path)
        known = read_item_catalog(path)[0].tolist()
        top_k = min(info.max_k, info.num_items)
        context_values = {"scenario": info.scenario_values}
        for name, values in info.user_feature_values.items():
            context_values[f"user_{name}"] = values
        for signature_name, function in loaded.signatures.items():
            tally = ServingTally(f"{model_name}/{signature_name}")
            specs = function.structured_input_signature[1]
            for _ in range(n):
                inputs = generated_request(rng, specs, known, context_values)
                tally.requests += 1
                try:
                    tensors = {
                        name: tf.constant(value, dtype=specs[name].dtype, shape=value.shape)
                        for name, value in inputs.items()
                    }
                    outputs = {name: value.numpy() for name, value in function(**tensors).items()}
                except Exception as error:  # pylint: disable=broad-except
                    tally.add("error", f"{type(error).__name__}: {error}", inputs)
                    continue
                if model_name in TOP_K_MODELS:
                    problem = retrieval_problem(outputs, inputs, top_k, set(known))
                else:
                    problem = ranking_problem(outputs, inputs)
                if problem is None:
                    tally.well_formed += 1
                else:
                    tally.add("malformed", problem, inputs)
            tallies.append(tally)
    return tallies


def run_serving(export_dir: str, n: int, seed_value: int) -> Optional[List[ServingTally]]:
    try:
        import tfrec_llm.serving.saved_model_loading  # noqa: F401  pylint: disable=import-outside-toplevel,unused-import
    except ImportError as error:
        print(f"serving: skipped, tfrec_llm.serving is not importable ({error})")
        return None
    return drive_signatures(export_dir, n, seed_value)


def print_serving(tallies: List[ServingTally]):
    print("\n## Serving signatures (generated requests)\n")
    header = f"{'signature':<34}{'requests':>10}{'well-formed':>13}{'malformed':>11}{'errors':>8}"
    print(header)
    print("-" * len(header))
    for t in tallies:
        print(f"{t.name:<34}{t.requests:>10}{t.well_formed:>13}{t.malformed_count:>11}{t.error_count:>8}")
    for tally in tallies:
        for kind, examples in (("MALFORMED", tally.malformed), ("ERROR", tally.errors)):
            for example in examples:
                print(f"\n{tally.name} {kind}: " + "\n  ".join(example))
