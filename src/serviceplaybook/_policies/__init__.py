"""The policies layer: pure, subclassable classes that turn records into decision records.

A policy imports records (and other policies), never the ports, the adapters or the desk.
"""
