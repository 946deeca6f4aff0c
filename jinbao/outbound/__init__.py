"""Outbound feeds: what the hub sends a partner under a data-sharing agreement (docs/outbound.md)."""
