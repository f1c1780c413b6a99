"""The shared counter file between the drivers and the controller: one row of int64 per driver.

A driver writes its row every few milliseconds; the controller reads it whenever it likes,
without a round trip, to keep a bounded number of events in flight.
"""

SLOT_WIDTH = 8
"""int64 counters per driver row."""
READY, EVENTS, FEWEST, FRAMES = range(4)
"""Clients greeted, events received, fewest events of any reading client, frames received."""
