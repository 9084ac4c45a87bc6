"""embedsim: test multimodal embedding models the way software is tested."""

from embedsim.errors import EmbedsimError, InputError
from embedsim.items import Item, load_item, text_item

__all__ = ["EmbedsimError", "InputError", "Item", "load_item", "text_item"]
__version__ = "0.1.0"
