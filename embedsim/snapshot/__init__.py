"""Snapshots of similarity matrices: the matrix table and the heatmap image, compared with
tolerances through syrupy's extension API (:mod:`~embedsim.snapshot.extensions`), the heatmap
drawn by :mod:`~embedsim.snapshot.heatmap` and compared by :mod:`~embedsim.snapshot.image_compare`.
"""

#: Absolute tolerance of matrix snapshots (cosine similarity units).
DEFAULT_TOLERANCE = 1e-4
#: RMS tolerance of heatmap snapshots (0-255 pixel units, as pytest-mpl's ``tolerance``).
DEFAULT_IMAGE_TOLERANCE = 2.0
