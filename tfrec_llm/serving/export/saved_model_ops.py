"""Which TensorFlow ops a SavedModel needs, and whether stock TF Serving has them.

`saved_model_op_names` lists every op type in the SavedModel's graph,
function library included (calls to library functions are not ops). The
list is written to `assets.extra/required_ops.txt`. `check_op_set` then
takes, from a fresh process that imported only TensorFlow, the ops not
registered in core TensorFlow and requires:
- retrieval, ranking, user_encoder, item_encoder: none (core TF only);
- item_text_encoder: only TF Text tokenizer ops present in TF Text 2.12,
  the version stock TF Serving 2.12-2.19 links; never `RoundRobinTrim`
  (a TF Text 2.16+ op used by KerasHub's `MultiSegmentPacker`).
"""

import os
from typing import Iterable, List

from tensorflow.core.protobuf import saved_model_pb2

from tfrec_llm.serving.export.warmup_request import ASSETS_EXTRA_DIR

SAVED_MODEL_FILE = "saved_model.pb"
REQUIRED_OPS_FILE = "required_ops.txt"
BANNED_OPS = frozenset({"RoundRobinTrim", "TFText>RoundRobinTrim"})
# TF Text ops of the BERT tokenizer path that TF Text 2.12 already registers
# (tensorflow_text/core/ops/{normalize,regex_split,wordpiece,fast_wordpiece_tokenizer,
# fast_bert_normalizer,whitespace_tokenizer,unicode_script_tokenize}_op(s).cc).
TF_TEXT_2_12_TOKENIZER_OPS = frozenset(
    {
        "CaseFoldUTF8",
        "NormalizeUTF8",
        "NormalizeUTF8WithOffsetsMap",
        "FindSourceOffsets",
        "RegexSplitWithOffsets",
        "WordpieceTokenizeWithOffsets",
        "FastWordpieceTokenizeWithOffsets",
        "FastBertNormalize",
        "WhitespaceTokenizeWithOffsets",
        "UnicodeScriptTokenizeWithOffsets",
    }
)


class OpSetError(RuntimeError):
    """A SavedModel needs ops that stock TF Serving does not register."""


def saved_model_op_names(saved_model_dir: str) -> List[str]:
    """Sorted op types used by the SavedModel's graph and its function library."""
    saved_model = saved_model_pb2.SavedModel()
    with open(os.path.join(saved_model_dir, SAVED_MODEL_FILE), "rb") as f:
        saved_model.ParseFromString(f.read())
    ops = set()
    functions = set()
    for meta_graph in saved_model.meta_graphs:
        graph = meta_graph.graph_def
        ops.update(node.op for node in graph.node)
        for function in graph.library.function:
            functions.add(function.signature.name)
            ops.update(node.op for node in function.node_def)
    return sorted(ops - functions)


def required_ops_path(saved_model_dir: str) -> str:
    return os.path.join(saved_model_dir, ASSETS_EXTRA_DIR, REQUIRED_OPS_FILE)


def write_required_ops(saved_model_dir: str) -> List[str]:
    """Writes `assets.extra/required_ops.txt` (one op per line); returns the ops."""
    ops = saved_model_op_names(saved_model_dir)
    path = required_ops_path(saved_model_dir)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write("".join(f"{op}\n" for op in ops))
    return ops


def read_required_ops(saved_model_dir: str) -> List[str]:
    with open(required_ops_path(saved_model_dir), encoding="utf-8") as f:
        return [line.strip() for line in f if line.strip()]


def check_banned_ops(model_name: str, ops: Iterable[str]) -> None:
    """Raises `OpSetError` if any op is known to be missing in stock TF Serving."""
    banned = sorted(set(ops) & BANNED_OPS)
    if banned:
        raise OpSetError(
            f"{model_name} uses {banned}, which stock TF Serving 2.12-2.19 does not register "
            "(KerasHub MultiSegmentPacker); use StartEndPacker."
        )


def check_op_set(model_name: str, ops_outside_core: Iterable[str], allows_text_ops: bool) -> None:
    """Raises `OpSetError` unless the ops outside core TF are allowed for this model (see module doc)."""
    outside = set(ops_outside_core)
    check_banned_ops(model_name, outside)
    allowed = TF_TEXT_2_12_TOKENIZER_OPS if allows_text_ops else frozenset()
    extra = sorted(outside - allowed)
    if extra:
        what = "core TensorFlow or TF Text 2.12 tokenizer ops" if allows_text_ops else "core TensorFlow ops"
        raise OpSetError(f"{model_name} needs ops outside {what}: {extra}.")
