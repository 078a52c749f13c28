"""The Flow engine: declaring state, the write path and events, layers and provenance."""

from __future__ import annotations

from .declare import Flow, flow
from .events import MISSING, Change, Subscription
from .fields import field
from .provenance import Provenance

__all__ = ["MISSING", "Change", "Flow", "Provenance", "Subscription", "field", "flow"]
