"""pytest-recording without pytest's ``legacypath`` plugin.

pytest-recording's autouse ``vcr`` fixture asks for its ``vcr_cassette_dir`` fixture,
which reads ``request.node.fspath`` - an attribute only the ``legacypath`` plugin
provides. A suite run with ``-p no:legacypath`` (syrupy's own, for one) would error in
every test once pytest-recording is installed (embedsim depends on it). When that
plugin is disabled, embedsim registers this override of ``vcr_cassette_dir`` - the
documented way to set pytest-recording's cassette folder - with the same value,
computed from ``request.node.path``. A project's own ``vcr_cassette_dir`` (in a
conftest) still takes precedence.
"""

from __future__ import annotations

import os

import pytest


class CassetteDirWithoutLegacyPath:
    """A plugin object holding the ``vcr_cassette_dir`` override."""

    @pytest.fixture(scope="module")
    def vcr_cassette_dir(self, request: pytest.FixtureRequest) -> str:
        """pytest-recording's default: ``<test file's folder>/cassettes/<test file's stem>``."""
        module = request.node.path
        return os.path.join(module.parent, "cassettes", module.stem)
