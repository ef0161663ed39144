"""Op-set rules: core TF only, except TF Text 2.12 tokenizer ops for the text encoder; never RoundRobinTrim."""

import pytest

from tfrec_llm.serving.export.saved_model_ops import OpSetError, check_banned_ops, check_op_set


def test_core_models_may_not_need_any_non_core_op():
    check_op_set("retrieval", [], allows_text_ops=False)
    with pytest.raises(OpSetError, match=r"retrieval needs ops outside core TensorFlow ops: \['CaseFoldUTF8'\]"):
        check_op_set("retrieval", ["CaseFoldUTF8"], allows_text_ops=False)


def test_text_encoder_may_use_tf_text_2_12_tokenizer_ops_only():
    check_op_set(
        "item_text_encoder",
        ["CaseFoldUTF8", "FastWordpieceTokenizeWithOffsets", "RegexSplitWithOffsets"],
        allows_text_ops=True,
    )
    with pytest.raises(OpSetError, match="TFText>FastWordpieceDetokenize"):
        check_op_set("item_text_encoder", ["TFText>FastWordpieceDetokenize"], allows_text_ops=True)
    with pytest.raises(OpSetError, match="RoundRobinTrim.*StartEndPacker"):
        check_op_set("item_text_encoder", ["TFText>RoundRobinTrim"], allows_text_ops=True)
    with pytest.raises(OpSetError, match="RoundRobinTrim"):
        check_banned_ops("item_text_encoder", ["MatMul", "RoundRobinTrim"])
