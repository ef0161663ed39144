"""BERT for the item tower: loading presets and checkpoints, the Keras 2/3 bridge, the text encoder."""
