"""parent-harness: the live control room for fleets of AI coding agents."""

__version__ = "0.1.0"
