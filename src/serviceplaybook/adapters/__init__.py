"""Adapters: implementations of the ports (:class:`~serviceplaybook.Storage` and its stores).

``memory`` is always available; backends that need an extra dependency import it inside
their own module only, so ``import serviceplaybook`` never needs it.
"""
