"""Evaluate and keep the moving average of a model's weights instead of its last step.

With `train.weight_average_momentum` m > 0 the optimizer keeps, beside each
trainable variable, its exponential moving average over training steps
(Keras' optimizer option `use_ema`: average <- m * average + (1 - m) *
weights after every step). Keras writes the averages into the model only
when `fit` ends; the validation early stopper has to score (and keep) the
averaged weights each epoch, so `averaged_weights` swaps them in for the
length of a `with` block and puts the training weights back after it.
"""

import contextlib

import tf_keras


def _averaging_optimizer(model):
    """`model`'s optimizer if it keeps a moving average of the weights, else None."""
    optimizer = getattr(model, "optimizer", None)
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # a LossScaleOptimizer's wrapped optimizer
    averaging = isinstance(optimizer, tf_keras.optimizers.Optimizer) and bool(optimizer.use_ema)
    return optimizer if averaging else None


def uses_weight_averaging(model) -> bool:
    """True when `model`'s optimizer keeps a moving average of its weights."""
    return _averaging_optimizer(model) is not None


@contextlib.contextmanager
def averaged_weights(model):
    """Within the block `model` holds its weights' moving average (unchanged without one).

    Example:
        with averaged_weights(model):
            score = validation_recall(model, rows, examples)
    """
    optimizer = _averaging_optimizer(model)
    if optimizer is None or int(optimizer.iterations) == 0:  # no averaging, or no step yet: nothing averaged
        yield
        return
    training_values = [variable.read_value() for variable in model.trainable_variables]
    optimizer.finalize_variable_values(model.trainable_variables)  # Keras' own "write the averages" step
    try:
        yield
    finally:
        for variable, value in zip(model.trainable_variables, training_values):
            variable.assign(value)
