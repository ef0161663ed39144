"""`model`: the two towers and the weights of the tasks (`ModelConfig`)."""

import dataclasses
import math
from typing import List, Optional

from tfrec_llm.config.config_checks import ConfigError, check_choice, check_positive, check_range


USER_TOWERS = ("lstm", "attention")
TRAINING_TARGETS = ("every_position", "last_position")
NEGATIVES = ("auto", "full_catalog", "in_batch")
FUSIONS = ("sum", "gate", "paths")
SCENARIO_HEADS = ("none", "star")
ID_INITS = ("auto", "random", "text")
COLD_ITEM_IDS = ("none", "from_text")
SERVED_EMPTY_HISTORY_ANSWERS = ("model", "popularity")  # what an export serves
EMPTY_HISTORY_ANSWERS = SERVED_EMPTY_HISTORY_ANSWERS + ("validation",)  # "validation": train picks one


@dataclasses.dataclass
class ModelConfig:
    """The two towers and the weights of the tasks.

    Args:
        embedding_dim: width of user and item embeddings. ml-100k
            validation (3 seeds, with `lstm_units` alike) prefers 256 for
            the full model and 128 for the id-only models; 64 stays the
            default (on test the chosen widths did not carry over:
            benchmarks/RESULTS.md, "Widths"). `tfrec-llm benchmark --peer-config` sizes the peers.
        use_text: feed the BERT text features into the item tower.
        use_item_ids: feed the item-id embedding into the item tower.
            (Switching one off gives the ID-only / text-only baselines.)
        lstm_units: width of the user tower's LSTM.
        item_id_dropout: training-time probability of dropping an item's id
            vector, so the text path learns to carry items alone, as it
            must for cold-start items (which have no id vector). With
            fusion "paths" at path_loss_share 1 it regularises the id path
            alone; ml-100k validation (3 seeds) picks 0.1 over 0 and 0.2.
        temperature: softmax temperature of the retrieval task. ml-100k
            validation, 3 seeds: the id-only models (width 128) and the
            default gate model prefer 0.2, the share-1 "paths" model 0.1
            (benchmarks/RESULTS.md, "Softmax temperature"); on ml-latest-small the
            default model loses at 0.2 (validation 0.1197/0.1115 vs
            0.1328/0.1344), so 0.1 stays the default.
        logq_correction: pass in-batch sampling probabilities (item
            popularity) to the retrieval task to correct popularity bias.
        retrieval_weight, ranking_weight, attribute_weight: multi-task loss
            weights; 0 switches a task off. The attribute task (predict an
            item's catalog attributes, e.g. genres, from its text) is off by
            default: on ml-100k it lowered Recall@10 (0.2089 -> 0.2068 with it
            off, gate fusion) and it trains on the labels the request
            benchmark scores, inflating it.
        ranking_hidden_units: widths of the ranking head's hidden layers.
        user_tower: the user tower's sequence encoder: "lstm" or
            "attention" (causal self-attention, SASRec-style).
        attention_blocks, attention_heads: shape of the "attention" encoder.
        attention_dropout: the "attention" encoder's dropout on its input,
            residual branches and attention weights (SASRec/RecBole: 0.5);
            None = `dropout` on input and residuals, weights not dropped.
        attention_feed_forward_multiplier: the "attention" encoder's
            feed-forward inner width, in `lstm_units` (SASRec/RecBole: 4).
        training_targets: "every_position" (one pass over each user's
            sequence, a loss at every position, as GRU4Rec/SASRec train) or
            "last_position" (one example per target event, its history
            re-read each time).
        empty_history_targets: with "every_position", each user's first
            event is a target too, predicted from an empty history, so the
            answer for a user without history (a new user, a history of
            unknown ids) is trained rather than left at what the other
            positions happen to make of it (ml-100k, 3 seeds: that answer's
            Recall@10 0.0456 -> 0.0710, overall 0.2121 -> 0.2153; see the
            README). Off by default until the benchmark is re-run with it.
        empty_history_answer: what a request whose history holds no known
            catalog item (a new user; only unknown ids) is answered with:
            "model" (the user tower's vector for an empty history, scored
            like any other), "popularity" (a score rule: the items'
            popularity prior, `log(1 + training count)`, ranks them; items
            added later with add-items have count 0) or "validation" (the
            default): `train` ranks the validation examples without
            history under both and keeps the better Recall@10, popularity
            on ties and below 20 such examples (always under
            leave-last-out), and writes the answer it kept into the
            model's config.json (`training/empty_history_choice.py`). It
            applies where the answer is a list: the `retrieval` export
            (all its signatures), `recommend` and the evaluator
            (metrics.json), never to the embeddings of `user_encoder`.
            Time_cut, new users' first events, Recall@10 of the tower's
            answer vs popularity: ml-100k untrained 0.0052/0.2969/0.0000
            (seeds 0/1/2) vs 0.1823, trained with empty_history_targets
            about 0.51 vs 0.1823; ml-latest-small untrained 0.0114,
            trained 0.1023 vs 0.4773 (README, "Cold users"): which wins
            depends on the data and the seed; validation picked the
            better one for all eight of these models.
        negatives: "full_catalog" (softmax over every item seen in
            training), "in_batch" (the other targets of the batch, TFRS
            `Retrieval`; logQ-corrected with `logq_correction`) or "auto":
            full_catalog, except in_batch when BERT is fine-tuned ("finetune"
            or "lora": a full-catalog softmax would run BERT over every item
            at each step) and when the catalog has more than
            `full_catalog_max_items` items; in_batch chosen for catalog size
            is logQ-corrected. Chosen on validation (benchmarks/RESULTS.md,
            "Negatives by catalog size"): the full catalog wins on ml-100k
            (1,682 items), logQ-corrected in_batch on ml-latest-small (9,742)
            and on the built-in world at 10,000 items (2-3 x faster per
            epoch there), a tie at 5,000; beyond ~50,000 items a [targets,
            items] logit matrix per step would not fit anyway.
        full_catalog_max_items: the catalog size beyond which "auto" picks
            in_batch negatives.
        id_hash_buckets: 0 = every item seen in training has its own
            id-embedding row; N > 0 = item ids and user-feature values are
            hashed (FarmHash, `tf_keras.layers.Hashing`) into N buckets each,
            so the embedding tables stay N rows for vocabularies of millions;
            the collision rate is logged and reported in metrics.json.
        dropout: dropout on the user tower's inputs and encoder.
        context_dropout: training-time probability of replacing scenario
            and user features by "unknown", so requests without them
            (the export's default) are served by a trained state.
        fusion: how the item tower joins its paths: "sum" (id + text),
            "gate" (a learned, popularity-dependent weight between them) or
            "paths" (kept apart, each with its own user tower: a score is the
            mean of an id cosine and a text cosine; embeddings are
            2 x embedding_dim wide; see `models/item_tower.py`).
        path_loss_share: with fusion "paths", the share of the retrieval
            loss taken by each path's own softmax (id cosines alone, text
            cosines alone, averaged) instead of the joint one (their mean
            cosine): 0 = joint only, 1 = the paths learn as two separately
            trained id-only and text-only models whose scores are averaged
            (the score ensemble benchmarks/RESULTS.md, "Fusion", measured).
            ml-100k, 3 seeds: share 1 at width 128 is validation's pick
            (test Recall@10 median 0.2322 vs 0.2121 for the default gate,
            0.2174 for `id_only` at the width, temperature and batch
            size its own validation picks;
            `benchmarks/configs/ml-100k-full.json`), at 6.5 s per epoch on
            a quiet machine (the id-only peers: 4.2 s). ml-latest-small
            validation (3 seeds, width 64) keeps the joint loss (median
            0.1410 vs 0.1426), so 0 stays the default.
        text_geometry_weight: weight of a regulariser that keeps the text
            projection's geometry close to BERT's (cosines between the batch's
            target items, projected vs raw), so a request embedded by the
            text path keeps its meaning; 0 switches it off.
        id_text_prior_weight: weight of a regulariser that pulls each item's
            id row towards a learned linear map of its frozen BERT vector
            (mean 1 - cosine; every item under the full-catalog softmax,
            the batch's targets with in-batch negatives), so rows the data
            barely moves (rare items) stay where their text puts them;
            needs ids and frozen text; 0 switches it off. ml-100k (the
            benchmark's full model): validation falls with the weight
            (0.2545 -> 0.2524 at 0.1 -> 0.2460 at 1.0, seed 0), so it stays
            off (benchmarks/RESULTS.md, "Text as a prior on the id rows").
        scenario_heads: scenario-specific parts besides the scenario
            embedding: "none", or "star" (STAR, Sheng et al. 2021: the user
            tower's final layer has weights shared ⊙ per-scenario, the
            per-scenario ones starting at 1 and trained only by their
            scenario's examples; see `models/scenario_heads.py`).
        id_init: how the item-id embedding starts: "random" (Keras'
            uniform initialiser, the default), "text" (each item's row from
            the top principal components of its frozen BERT vector, so items
            with similar text start close; needs use_text, use_item_ids and
            text.mode "frozen"; see `models/text_initialised_ids.py`) or
            "auto": "text" where it applies (frozen text, both paths,
            embedding_dim <= the text width and the item count, at most
            100,000 items), else "random". ml-100k, 3 seeds: "text" lifts
            validation Recall@10 0.2407 -> 0.2524 and test 0.2121 -> 0.2195,
            but the served request precision@10 falls 0.767 -> 0.722 (median;
            the item vectors lean on the ids): off by default
            (benchmarks/RESULTS.md, "Text-initialised id rows").
        id_init_scale: the text rows' standard deviation as a multiple of
            Keras' default initialiser's (0.029); chosen on ml-100k
            validation from 1, 2, 4, 8, 16.
        cold_item_ids: "none" (an item without an id row, cold or added
            later, scores by its text half alone) or "from_text" (fusion
            "paths" with frozen text: after training a ridge map from text
            vectors to id rows gives such items an id vector from their
            text; see `models/cold_id_map.py`). Time_cut, cold-item
            Recall@50: ml-100k 0.058 -> 0.181 (median of 3 seeds), the
            built-in world 0.130 -> 0.332 and ml-latest-small 0.089 -> 0.061
            (seed 0; its warm items gain):
            opt-in (benchmarks/RESULTS.md, "Cold items from text").
        cold_item_ids_l2: that map's ridge strength (unit-length inputs;
            0.3 chosen on the built-in world from 0.3, 1, 3, 10).
    """

    embedding_dim: int = 64
    use_text: bool = True
    use_item_ids: bool = True
    lstm_units: int = 64
    item_id_dropout: float = 0.1
    temperature: float = 0.1
    logq_correction: bool = False
    retrieval_weight: float = 1.0
    ranking_weight: float = 0.05
    attribute_weight: float = 0.0
    ranking_hidden_units: List[int] = dataclasses.field(default_factory=lambda: [64])
    user_tower: str = "lstm"
    attention_blocks: int = 2
    attention_heads: int = 2
    attention_dropout: Optional[float] = None
    attention_feed_forward_multiplier: int = 1
    training_targets: str = "every_position"
    empty_history_targets: bool = False
    empty_history_answer: str = "validation"
    negatives: str = "auto"
    dropout: float = 0.1
    context_dropout: float = 0.1
    fusion: str = "gate"
    path_loss_share: float = 0.0
    text_geometry_weight: float = 0.0
    id_text_prior_weight: float = 0.0
    full_catalog_max_items: int = 5_000
    id_hash_buckets: int = 0
    scenario_heads: str = "none"
    id_init: str = "random"
    id_init_scale: float = 8.0
    cold_item_ids: str = "none"
    cold_item_ids_l2: float = 0.3

    @property
    def served_empty_history_answer(self) -> str:
        """ "model" or "popularity": what is served ("validation" not yet resolved by `train`: popularity)."""
        return "model" if self.empty_history_answer == "model" else "popularity"

    def validate(self):
        check_positive("model.embedding_dim", self.embedding_dim)
        check_positive("model.full_catalog_max_items", self.full_catalog_max_items)
        if self.id_hash_buckets < 0:
            raise ConfigError(f"model.id_hash_buckets must be >= 0 (0 = no hashing), got {self.id_hash_buckets}.")
        check_choice("model.user_tower", self.user_tower, USER_TOWERS)
        check_choice("model.training_targets", self.training_targets, TRAINING_TARGETS)
        if self.empty_history_targets and self.training_targets != "every_position":
            raise ConfigError(
                'model.empty_history_targets needs model.training_targets "every_position" (the per-position '
                f'windows hold the empty-history targets), got "{self.training_targets}".'
            )
        check_choice("model.empty_history_answer", self.empty_history_answer, EMPTY_HISTORY_ANSWERS)
        check_choice("model.negatives", self.negatives, NEGATIVES)
        check_choice("model.fusion", self.fusion, FUSIONS)
        check_range("model.path_loss_share", self.path_loss_share, 0.0, 1.0)
        if self.path_loss_share > 0 and self.fusion != "paths":
            raise ConfigError(f'model.path_loss_share needs model.fusion "paths", got "{self.fusion}".')
        check_choice("model.scenario_heads", self.scenario_heads, SCENARIO_HEADS)
        check_choice("model.id_init", self.id_init, ID_INITS)
        check_positive("model.id_init_scale", self.id_init_scale)
        if self.id_init == "text" and not (self.use_text and self.use_item_ids):
            raise ConfigError('model.id_init "text" needs model.use_text and model.use_item_ids.')
        if self.id_text_prior_weight > 0 and not (self.use_text and self.use_item_ids):
            raise ConfigError("model.id_text_prior_weight > 0 needs model.use_text and model.use_item_ids.")
        check_positive("model.attention_blocks", self.attention_blocks)
        check_positive("model.attention_heads", self.attention_heads)
        check_positive("model.attention_feed_forward_multiplier", self.attention_feed_forward_multiplier)
        if self.attention_dropout is not None:
            check_range("model.attention_dropout", self.attention_dropout, 0.0, 0.9)
        check_range("model.dropout", self.dropout, 0.0, 0.9)
        check_range("model.context_dropout", self.context_dropout, 0.0, 1.0)
        check_choice("model.cold_item_ids", self.cold_item_ids, COLD_ITEM_IDS)
        check_positive("model.cold_item_ids_l2", self.cold_item_ids_l2)
        if self.cold_item_ids == "from_text" and not (self.fusion == "paths" and self.use_text and self.use_item_ids):
            raise ConfigError(
                'model.cold_item_ids "from_text" needs model.fusion "paths" with use_text and use_item_ids.'
            )
        check_positive("model.lstm_units", self.lstm_units)
        check_range("model.item_id_dropout", self.item_id_dropout, 0.0, 1.0)
        check_positive("model.temperature", self.temperature)
        if not (self.use_text or self.use_item_ids):
            raise ConfigError("model.use_text and model.use_item_ids cannot both be false.")
        for name in (
            "retrieval_weight",
            "ranking_weight",
            "attribute_weight",
            "text_geometry_weight",
            "id_text_prior_weight",
        ):
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ConfigError(f"model.{name} must be >= 0, got {value!r} (a finite number is needed).")
        for units in self.ranking_hidden_units:
            check_positive("model.ranking_hidden_units[]", units)
