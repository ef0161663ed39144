"""Per-example target ranks of one evaluation, kept beside metrics.json (`test_ranks.npz`).

`metrics.json` holds means; comparing two models on the same test examples
(a paired bootstrap: `tfrec_llm.evaluation.paired_bootstrap`) needs each
example's rank under each model. `ExampleRanks` holds, for the examples of
one evaluation:

- `user_ids`: str [n], whose example each row is (the bootstrap resamples
  users, so a user's examples move together);
- `ranks`: pass -> int [n] target rank (pessimistic ties, items the user had
  excluded), for the passes of `evaluate_model`: "overall" (full histories),
  "history_cuts/last_<k>", "without_context";
- `strata`: stratum name -> bool [n], the evaluator's example strata
  ("head", "tail", "cold_items", "sparse_users", ...).

A metric at a place ("overall", a stratum, or "history_cuts/last_<k>", as in
the benchmark's targets) is the mean of `per_example_values` over the place's
examples, so it equals the report's number for that place.

Example:
    ranks = ExampleRanks.load("runs/x/full/test_ranks.npz")
    values, mask = ranks.values_at("tail", "recall@50")
    float(values[mask].mean())  # == metrics.json strata.tail recall@50
"""

import dataclasses
from typing import Dict, Tuple

import numpy as np

from tfrec_llm.evaluation import ranking_metrics

RANKS_FILE = "test_ranks.npz"
OVERALL = "overall"
HISTORY_CUTS_PREFIX = "history_cuts/"
_RANK_KEY = "rank:"
_STRATUM_KEY = "stratum:"


@dataclasses.dataclass
class ExampleRanks:
    """Target ranks of one evaluation's examples per pass, and the examples' strata (module docstring)."""

    user_ids: np.ndarray
    ranks: Dict[str, np.ndarray]
    strata: Dict[str, np.ndarray]

    def __post_init__(self):
        self.user_ids = np.asarray(self.user_ids).astype(str)
        n = len(self.user_ids)
        for kind, arrays in (("ranks", self.ranks), ("strata", self.strata)):
            for name, values in arrays.items():
                if len(values) != n:
                    raise ValueError(f"ExampleRanks {kind}[{name!r}] has {len(values)} rows for {n} examples.")

    def values_at(self, place: str, metric: str) -> Tuple[np.ndarray, np.ndarray]:
        """(float [n] per-example `metric` values, bool [n] examples of `place`).

        `place`: a pass ("overall", "history_cuts/<cut>", "without_context":
        every example, ranked in that pass) or a stratum (the full-history
        ranks of its examples). Raises KeyError naming what is held when
        `place` is neither.
        """
        if place in self.ranks:
            return ranking_metrics.per_example_values(self.ranks[place], metric), np.ones(len(self.user_ids), bool)
        if place not in self.strata:
            raise KeyError(f"no pass or stratum {place!r}; held: {sorted(self.ranks) + sorted(self.strata)}")
        return ranking_metrics.per_example_values(self.ranks[OVERALL], metric), self.strata[place]

    def save(self, path: str) -> None:
        """Writes a compressed .npz to `path` exactly (NumPy would append ".npz" to a bare name)."""
        arrays = {f"{_RANK_KEY}{name}": np.asarray(v, np.int64) for name, v in self.ranks.items()}
        arrays.update({f"{_STRATUM_KEY}{name}": np.asarray(v, bool) for name, v in self.strata.items()})
        with open(path, "wb") as f:
            np.savez_compressed(f, user_ids=self.user_ids, **arrays)

    @classmethod
    def load(cls, path: str) -> "ExampleRanks":
        """Reads `save`'s file; any other file raises ValueError naming it."""
        try:
            stored = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as error:
            raise ValueError(f"{path}: not a per-example ranks file ({error})") from error
        if not isinstance(stored, np.lib.npyio.NpzFile):
            raise ValueError(f"{path}: not a per-example ranks file (one array, not an .npz of `ExampleRanks.save`)")
        with stored:
            missing = {"user_ids", f"{_RANK_KEY}{OVERALL}"} - set(stored.files)
            if missing:
                raise ValueError(f"{path}: not a per-example ranks file (no {', '.join(sorted(missing))})")
            return cls(
                user_ids=stored["user_ids"],
                ranks={k[len(_RANK_KEY) :]: stored[k] for k in stored.files if k.startswith(_RANK_KEY)},
                strata={k[len(_STRATUM_KEY) :]: stored[k] for k in stored.files if k.startswith(_STRATUM_KEY)},
            )
