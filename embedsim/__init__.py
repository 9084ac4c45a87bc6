"""embedsim: test multimodal embedding models the way software is tested."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from embedsim.errors import EmbedsimError, InputError

if TYPE_CHECKING:
    from embedsim.inputs.items import Item, load_item, text_item

__all__ = ["EmbedsimError", "InputError", "Item", "load_item", "text_item"]


def __getattr__(name: str) -> Any:
    """``Item``, ``load_item`` and ``text_item`` on first use: importing the package (as the
    pytest plugin does in every run) stays cheap. ``__version__`` is the installed
    distribution's (``pyproject.toml``'s ``version``, one place), ``"unknown"`` when embedsim
    runs from a folder that was never installed."""
    if name in ("Item", "load_item", "text_item"):
        from embedsim.inputs import items

        return getattr(items, name)
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("embedsim")
        except PackageNotFoundError:
            return "unknown"
    raise AttributeError(f"module 'embedsim' has no attribute {name!r}")
