"""The tf.Module of each exported model and its serving signatures."""
