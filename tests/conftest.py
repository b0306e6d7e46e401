"""Shared pytest configuration: hypothesis profiles.

``dev`` (the default) keeps the local loop quick; ``ci`` (chosen when the ``CI`` environment
variable is set, as CI does, or with ``HYPOTHESIS_PROFILE=ci``) runs more examples, enough to
find bugs while keeping the whole suite well under ten minutes on two cores.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=50, deadline=None)
settings.register_profile(
    "ci",
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=True,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
