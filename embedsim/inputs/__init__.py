"""Inputs: files, texts, fixture folders and grids become :class:`~embedsim.inputs.items.Item`\\ s.

:mod:`~embedsim.inputs.items` (kinds sniffed from content by :mod:`~embedsim.inputs.sniff`,
images as a model gets them by :mod:`~embedsim.inputs.image_bytes`),
:mod:`~embedsim.inputs.datasets` (a folder and its ``manifest.toml``),
:mod:`~embedsim.inputs.grid` (an R x C image cut into tiles) and
:mod:`~embedsim.inputs.faces` (dlib's face detector, the ``crop_faces`` transform).
"""
