"""The playbook class a file describes, and its problems at the file's key paths.

``[playbook]`` may add stages, transitions and guidance to the playbook class it is given:
the class built is a subclass of it, so a stage added in the file works like one added by
subclassing. Whether that class is sound is :meth:`Playbook.problems`'s to say (names,
the machine, stages without a way in or out); this module asks it and maps each answer to
the key of the file it came from (``playbook.transitions[1].from``, ``playbook.stages[0]``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from types import MappingProxyType
from typing import Any

from serviceplaybook._playbook import Playbook, Transition
from serviceplaybook._playbook_file.problems import item, join
from serviceplaybook._records.reasons import Guidance

# Where Playbook.problems says a problem is.
_WHERE = re.compile(
    r"^(?:stages\[(?P<stage>\d+)\]"
    r"|transitions\[(?P<transition>\d+)\]\.(?P<name>\w+)(?:\[(?P<number>\d+)\])?"
    r"|stage_guidance_texts\[(?P<guided>.+)\])$"
)
# The file's names for Transition's fields.
_FILE_KEY = {"source": "from", "dest": "to"}
# What to do about a stage Playbook.problems finds, in the file's terms.
_HINTS = {
    "no transition reaches": ": add a [[playbook.transitions]] whose to is {stage!r}",
    "no transition leads out": "; add a way back, and escalate and terminate from it",
}


def extend(
    base: type[Playbook],
    stages: Sequence[str],
    transitions: Sequence[Transition],
    guidance: Mapping[str, tuple[Guidance, ...]],
    *,
    name: str,
) -> type[Playbook]:
    """A subclass of ``base`` named ``name`` with the file's stages, transitions and guidance
    added to its own."""
    attributes: dict[str, Any] = {
        "__doc__": f"{base.__name__} with the stages, transitions and guidance of a playbook file.",
        "__module__": __name__,
        "stages": (*base.stages, *stages),
        "transitions": (*base.transitions, *transitions),
        "stage_guidance_texts": MappingProxyType({**base.stage_guidance_texts, **guidance}),
    }
    return type(name, (base,), attributes)


def problems(
    base: type[Playbook],
    stages: Sequence[tuple[int, str]],
    transitions: Sequence[tuple[int, Transition]],
    guidance: Mapping[str, tuple[Guidance, ...]],
    *,
    complete: bool = True,
) -> list[tuple[str, str]]:
    """(key, message) for what is wrong with the playbook the file describes.

    A stage the file lists that ``base`` has already; then every problem
    :meth:`Playbook.problems` finds with ``base`` extended by the file, at the key it comes
    from. ``stages`` and ``transitions`` carry their index in the file's arrays. A problem of
    ``base`` itself (its machine does not compile) is put under ``playbook.transitions``.

    With ``complete=False`` (some of the section could not be read), only the names are
    checked: the machine and the ways in and out of a stage would be judged without the
    transitions that were left out.
    """
    found: list[tuple[str, str]] = []
    known = {str(stage) for stage in base.stages}
    for index, stage in stages:
        if stage in known:
            found.append(
                (
                    item("playbook.stages", index),
                    f"{stage!r} is already a stage of {base.__name__}; list only the stages the "
                    f"file adds",
                )
            )
    stages = [(index, stage) for index, stage in stages if stage not in known]
    # Named after base, so that the messages name the class whose methods the file may use.
    checked = extend(
        base,
        [stage for _, stage in stages],
        [transition for _, transition in transitions],
        guidance,
        name=base.__name__,
    )
    own_stages, own_transitions = len(base.stages), len(base.transitions)
    for where, message in checked.problems(base=base):
        if not complete and (not where or where.startswith("stages[")):
            continue
        match = _WHERE.fullmatch(where)
        key = None
        if match is not None and match["stage"] is not None:
            number = int(match["stage"]) - own_stages
            if number >= 0:
                key = item("playbook.stages", stages[number][0])
                stage = stages[number][1]
                message += "".join(
                    hint.format(stage=stage)
                    for start, hint in _HINTS.items()
                    if message.startswith(start)
                )
        elif match is not None and match["transition"] is not None:
            number = int(match["transition"]) - own_transitions
            if number >= 0:
                index, transition = transitions[number]
                name = match["name"]
                key = join(item("playbook.transitions", index), _FILE_KEY.get(name, name))
                value = getattr(transition, name)
                if match["number"] is not None and isinstance(value, tuple) and len(value) > 1:
                    key = item(key, int(match["number"]))
        elif match is not None:
            stage = match["guided"].strip("'\"")
            if stage in guidance:
                key = join("playbook.guidance", stage)
        if key is None:  # base's own, not the file's
            key = "playbook.transitions"
            message = f"{base.__name__}.{where}: {message}" if where else message
        found.append((key, message))
    return found
