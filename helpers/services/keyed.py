"""Per-key server state with a ceiling, so a runaway learner loop cannot eat a classroom server.

``/flaky/{key}``, ``/limited/{key}`` and the fault endpoints of notebook 09 remember something per key.  A loop over 20,000 fresh keys
(an f-string with a counter in the key is an easy slip) used to grow the service from 43 MB to
454 MB.  Now at most ``MAX_KEYS`` keys are remembered; a new key beyond that forgets the key used
least recently, which only matters to a learner who has 10,000 keys in play at once.  Keys are at
most ``MAX_KEY_LENGTH`` characters (a longer one gets a 400), so the ceiling is in bytes too.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

MAX_KEYS = 10_000
MAX_KEY_LENGTH = 200

V = TypeVar("V")


class BoundedState(Generic[V]):
    """A dict of per-key state that keeps the `max_keys` most recently used keys."""

    def __init__(self, max_keys: int = MAX_KEYS) -> None:
        self.max_keys = max_keys
        self._items: OrderedDict[str, V] = OrderedDict()
        self.evicted = 0  # how many keys were forgotten to stay under the ceiling

    def get(self, key: str, default: V | None = None) -> V | None:
        return self._items.get(key, default)

    def __getitem__(self, key: str) -> V:
        return self._items[key]

    def __setitem__(self, key: str, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)  # most recently used last; the oldest goes first
        while len(self._items) > self.max_keys:
            self._items.popitem(last=False)
            self.evicted += 1

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def clear(self) -> int:
        """Forget every key; returns how many there were."""
        count = len(self._items)
        self._items.clear()
        self.evicted = 0
        return count
