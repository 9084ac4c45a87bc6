"""Default tolerances of the snapshot comparisons (shared by the extensions and the plugin's options)."""

#: Absolute tolerance of matrix snapshots (cosine similarity units).
DEFAULT_TOLERANCE = 1e-4
#: RMS tolerance of heatmap snapshots (0-255 pixel units, as pytest-mpl's ``tolerance``).
DEFAULT_IMAGE_TOLERANCE = 2.0
