"""The towers and the joint TFRS model."""
