"""The records layer: frozen attrs values, every decision and event record among them.

It imports nothing of the package above it (only ``_errors``): policies, the playbook, the
ports, the adapters and the desk all build on these records, never the other way round.
"""
