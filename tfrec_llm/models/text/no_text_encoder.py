"""`NoTextEncoder`: what a model without item text (`model.use_text=false`) has instead of BERT.

An id-only item tower reads no text, so training, reloading, updating and
exporting such a model load, run and save no text encoder (loading MiniLM
and tokenizing the catalog cost an id-only benchmark model seconds for
nothing). Code written for any model (update, adapt) still finds an
encoder with a `source`, `pretrained` and a `tokenize` that returns
`token_width` zeros per text (0 for new models; the width of the token
table an older id-only model stored), so the token table keeps one width.
"""

import numpy as np

NO_TEXT_ENCODER_SOURCE = "none (model.use_text=false: no item text)"


class NoTextEncoder:
    """Stands in for `TextEncoder` in a model that reads no item text.

    Args:
        token_width: columns of the (all-padding) token rows `tokenize` returns.

    Example:
        >>> NoTextEncoder().tokenize(["A space opera"], sequence_length=32).shape
        (1, 0)
    """

    pretrained = False
    source = NO_TEXT_ENCODER_SOURCE

    def __init__(self, token_width: int = 0):
        self.token_width = int(token_width)

    def tokenize(self, texts, sequence_length: int, batch_size: int = 0, return_lengths: bool = False):
        """int32 `[len(texts), token_width]` zeros (and zero lengths): no text is read."""
        del sequence_length, batch_size  # the same signature as TextEncoder.tokenize
        tokens = np.zeros((len(texts), self.token_width), np.int32)
        return (tokens, np.zeros(len(texts), np.int32)) if return_lengths else tokens

    def encode(self, token_ids, batch_size: int = 0):
        raise ValueError("This model reads no item text (model.use_text=false): there is no text encoder to run.")
