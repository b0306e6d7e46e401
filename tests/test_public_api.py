"""Tests for the public API of ``serviceplaybook``: ``__all__`` and the docstrings.

``__all__`` is sorted, has no duplicates and lists exactly the public names the package
binds (eagerly, or lazily on first use); it holds DESIGN.md's stable names, and every other
name in it is justified in the API reference; every exported name, and every public method and
property of the exported classes, has a docstring.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import serviceplaybook

PACKAGE = serviceplaybook.__name__


ROOT = Path(__file__).resolve().parent.parent

# DESIGN.md's "Stable public names": importable from the root whatever else changes.
STABLE = [
    "Customer",
    "Agent",
    "Role",
    "Issue",
    "Severity",
    "Money",
    "Message",
    "Offer",
    "OfferKind",
    "Reason",
    "Signals",
    "Apology",
    "ApologyDecision",
    "EscalationDecision",
    "HandoffBrief",
    "Authorization",
    "FollowUp",
    "Channel",
    "Conversation",
    "Stage",
    "Playbook",
    "SignalDetector",
    "LexiconSignalDetector",
    "EscalationPolicy",
    "EscalationLadder",
    "ApologyPolicy",
    "CompensationPolicy",
    "AuthorityMatrix",
    "FollowUpPolicy",
    "BusinessCalendar",
    "SlaPolicy",
    "ConversationStore",
    "Journal",
    "CompensationLedger",
    "FollowUpScheduler",
    "FollowUpDispatcher",
    "InMemoryScheduler",
    "SQLiteScheduler",
    "ServiceDesk",
    "PlaybookError",
    "IllegalTransition",
    "PolicyViolation",
    "ApprovalRequired",
    "ConcurrentUpdate",
    "NotFound",
    "ConfigError",
    "CurrencyMismatch",
]


def bound_public_names() -> set[str]:
    """Names the package binds that are public: no leading underscore, not a module; with the
    names it binds lazily, on first use (PEP 562)."""
    eager = {
        name
        for name, value in vars(serviceplaybook).items()
        if not name.startswith("_")
        and not isinstance(value, types.ModuleType)
        and name not in {"annotations", "importlib", "TYPE_CHECKING", "Any"}
    }
    return eager | set(serviceplaybook._LAZY)


def justified_names() -> set[str]:
    """The names the API reference's "Why each name is public" table justifies."""
    text = (ROOT / "docs" / "reference" / "index.md").read_text()
    table = text[text.index("## Why each name is public") :]
    names: set[str] = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Za-z_]+)`", line.split("|")[1]))
    return names


def test_the_stable_names_are_exported() -> None:
    assert sorted(set(STABLE) - set(serviceplaybook.__all__)) == []


def test_every_other_exported_name_is_justified_in_the_reference() -> None:
    others = set(serviceplaybook.__all__) - set(STABLE)
    justified = justified_names()
    assert sorted(others - justified) == [], "justify it in docs/reference/index.md"
    assert sorted(justified - others) == [], "no longer exported (or stable): drop its row"


def test_lazy_names_resolve_and_unknown_names_raise() -> None:
    for name in serviceplaybook._LAZY:
        assert getattr(serviceplaybook, name).__name__ == name
    with pytest.raises(AttributeError, match="no attribute 'nonexistent'"):
        serviceplaybook.nonexistent
    assert set(serviceplaybook._LAZY) <= set(dir(serviceplaybook))


def test_no_module_publishes_an_export_list_but_the_public_ones() -> None:
    """Only the root and the public sub-packages (``adapters``, ``testing``, ``insights``,
    ``training``) declare ``__all__``: a private module's names are reached through the
    root."""
    package = ROOT / "src" / "serviceplaybook"
    declaring = sorted(
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if re.search(r"^__all__\b", path.read_text(), re.MULTILINE)
    )
    assert [
        path
        for path in declaring
        if path != "__init__.py"
        and not path.startswith(("adapters/", "testing/", "insights/", "training/"))
        and path != "__main__.py"
    ] == []


def test_every_module_is_private_but_the_public_packages() -> None:
    package = ROOT / "src" / "serviceplaybook"
    public = sorted(
        path.relative_to(package).as_posix()
        for path in package.rglob("*.py")
        if not any(part.startswith("_") for part in path.relative_to(package).parts)
    )
    public_packages = ("adapters/", "testing/", "insights/", "training/")
    assert [path for path in public if not path.startswith(public_packages)] == []


def test_all_is_sorted() -> None:
    assert serviceplaybook.__all__ == sorted(serviceplaybook.__all__)


def test_all_has_no_duplicates() -> None:
    assert len(serviceplaybook.__all__) == len(set(serviceplaybook.__all__))


def test_all_lists_exactly_the_public_names() -> None:
    exported = set(serviceplaybook.__all__)
    bound = bound_public_names()
    assert sorted(bound - exported) == [], "public but missing from __all__"
    assert sorted(exported - bound) == [], "in __all__ but not bound (or a module)"


def test_all_names_are_importable() -> None:
    namespace: dict[str, Any] = {}
    exec(f"from {PACKAGE} import *", namespace)
    assert set(serviceplaybook.__all__) <= set(namespace)


def test_version_is_a_string() -> None:
    assert isinstance(serviceplaybook.__version__, str)
    assert serviceplaybook.__version__


MISSING_DOC: dict[str, str] = {}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(
            name,
            marks=[pytest.mark.xfail(strict=True, reason=MISSING_DOC[name])]
            if name in MISSING_DOC
            else [],
        )
        for name in serviceplaybook.__all__
    ],
)
def test_every_exported_name_has_a_docstring(name: str) -> None:
    doc = inspect.getdoc(getattr(serviceplaybook, name))
    assert doc, f"serviceplaybook.{name} has no docstring"
    assert doc.strip()


def _own_package(cls: type) -> bool:
    return cls.__module__ == PACKAGE or cls.__module__.startswith(f"{PACKAGE}.")


def public_members(cls: type) -> Iterator[tuple[str, str, object]]:
    """(defining class, name, member) for each public method and property of ``cls`` that is
    defined in serviceplaybook, in ``cls`` or a base class of the package; dunders, attrs
    fields (slots), enum members and methods from builtins, enum, attrs or typing are left
    out."""
    seen: set[str] = set()
    members = getattr(cls, "__members__", {})
    for klass in cls.__mro__:
        if not _own_package(klass):
            continue
        for name, member in vars(klass).items():
            if name.startswith("_") or name in seen or name in members:
                continue
            seen.add(name)
            if isinstance(member, staticmethod | classmethod):
                member = member.__func__
            if isinstance(member, property | types.FunctionType):
                yield klass.__name__, name, member


def exported_classes() -> list[type]:
    return [
        value
        for name in serviceplaybook.__all__
        if inspect.isclass(value := getattr(serviceplaybook, name)) and _own_package(value)
    ]


def test_exported_classes_are_found() -> None:
    classes = {cls.__name__ for cls in exported_classes()}
    assert {"Conversation", "Money", "ServiceDesk", "Playbook", "Role"} <= classes


def test_public_members_skip_what_is_not_ours() -> None:
    members = {name for _, name, _ in public_members(serviceplaybook.Role)}
    assert {"rank", "on_ladder"} <= members
    assert not members & {"BOT", "AGENT", "SECURITY", "name", "value", "upper", "lower"}
    money = {name for _, name, _ in public_members(serviceplaybook.Money)}
    assert {"zero", "from_minor_units", "is_zero", "minor_units"} <= money
    assert not money & {"amount", "currency"}  # attrs fields, documented on the class


MEMBERS = [
    pytest.param(member, id=f"{cls.__name__}.{name}")
    for cls in exported_classes()
    for _, name, member in public_members(cls)
]


@pytest.mark.parametrize("member", MEMBERS)
def test_every_public_method_and_property_has_a_docstring(member: object) -> None:
    doc = inspect.getdoc(member)
    assert doc, f"{member!r} has no docstring"
    assert doc.strip()


def test_enums_in_the_api_document_themselves() -> None:
    """An enum's docstring is its own, not one inherited or generated by ``enum``."""
    enums = [cls for cls in exported_classes() if issubclass(cls, enum.Enum)]
    assert enums
    for cls in enums:
        own = vars(cls).get("__doc__")
        assert own, cls.__name__
        assert own.strip(), cls.__name__
        for base in cls.__mro__[1:]:
            assert own != base.__doc__, cls.__name__
