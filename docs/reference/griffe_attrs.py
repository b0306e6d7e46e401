"""A griffe extension for the API reference: attrs signatures, and Sphinx roles as links.

griffe reads the source without importing it and re-creates ``__init__`` for dataclasses
only, so an attrs record would show no parameters (and a docstring's ``Args:`` section
would warn that its parameters are not in the signature). This re-creates the ``__init__``
attrs generates: annotated fields in order (base classes first), keyword-only when the class
or the field says so, defaults from ``default=`` or ``factory=``, ``init=False`` fields left
out, a private field's parameter named without its underscore. A class that writes its own
``__init__`` keeps it.

The docstrings also use Sphinx roles (``:class:`Playbook` ``) and literal blocks introduced
by ``::``, which Markdown shows verbatim. Each role becomes a link to the object it names,
resolved in the docstring's scope (plain code when the target is not in the reference: an
optional reference never fails the strict build), and ``::`` a single colon.

Loaded by ``mkdocs.yml`` (mkdocstrings' ``extensions`` option).
"""

from __future__ import annotations

import html
import re
from typing import Any

from griffe import (
    Attribute,
    Class,
    Expr,
    ExprCall,
    ExprKeyword,
    Extension,
    Function,
    Module,
    Object,
    Parameter,
    ParameterKind,
    Parameters,
)

_DECORATORS = {"attrs.frozen", "attrs.define", "attrs.mutable", "attr.s", "attr.attrs"}
_FIELDS = {"attrs.field", "attr.ib", "attr.attrib"}
_FACTORY = {"attrs.Factory", "attr.Factory"}
_ROLE = re.compile(r":(?:class|meth|func|attr|data|mod|exc|obj):`(?P<name>[^`]+)`")
_LITERAL_BLOCK = re.compile(r"::\n(?=\n)")


def _decorator(cls: Class) -> Expr | str | None:
    for decorator in cls.decorators:
        value = decorator.value
        path = value.function.canonical_path if isinstance(value, ExprCall) else None
        if path is None and isinstance(value, Expr):
            path = value.canonical_path
        if path in _DECORATORS:
            return value
    return None


def _arguments(expr: object) -> dict[str, Any]:
    if not isinstance(expr, ExprCall):
        return {}
    return {arg.name: arg.value for arg in expr.arguments if isinstance(arg, ExprKeyword)}


def _field_arguments(attribute: Attribute) -> dict[str, Any] | None:
    value = attribute.value
    if isinstance(value, ExprCall) and value.function.canonical_path in _FIELDS:
        return _arguments(value)
    return None


def _own_parameters(cls: Class) -> list[Parameter]:
    decorator = _arguments(_decorator(cls))
    if str(decorator.get("init")) == "False":
        return []
    class_kw_only = str(decorator.get("kw_only")) == "True"
    parameters = []
    for member in cls.members.values():
        if not isinstance(member, Attribute) or member.annotation is None:
            continue
        # properties are not fields; nor are ClassVars, which griffe labels class-only
        if "property" in member.labels or (
            "class-attribute" in member.labels and "instance-attribute" not in member.labels
        ):
            continue
        field = _field_arguments(member)
        if field is not None and str(field.get("init")) == "False":
            continue
        if field is None:
            default = member.value
        elif "factory" in field:
            default = ExprCall(function=field["factory"], arguments=[])
        else:
            default = field.get("default")
        if isinstance(default, ExprCall) and default.function.canonical_path in _FACTORY:
            # attrs.Factory(f) calls f; one that takes self derives the value from other fields
            made = default.arguments[0] if len(default.arguments) == 1 else None
            default = ExprCall(function=made, arguments=[]) if isinstance(made, Expr) else "..."
        kw_only = class_kw_only or (field is not None and str(field.get("kw_only")) == "True")
        name = str(field["alias"]).strip("'\"") if field and "alias" in field else member.name
        parameters.append(
            Parameter(
                name.lstrip("_"),
                annotation=member.annotation,
                kind=ParameterKind.keyword_only if kw_only else ParameterKind.positional_or_keyword,
                default=default,
                docstring=member.docstring,
            )
        )
    return parameters


def _set_init(cls: Class) -> None:
    if _decorator(cls) is None or "__init__" in cls.members:
        return
    try:
        lineage = [*reversed(cls.mro()), cls]
    except ValueError:
        lineage = [cls]
    by_name: dict[str, Parameter] = {}
    for ancestor in lineage:
        if _decorator(ancestor) is not None:
            by_name.update({p.name: p for p in _own_parameters(ancestor)})
    positional = [p for p in by_name.values() if p.kind is ParameterKind.positional_or_keyword]
    keyword = [p for p in by_name.values() if p.kind is ParameterKind.keyword_only]
    self = Parameter("self", kind=ParameterKind.positional_or_keyword)
    init = Function(
        "__init__",
        lineno=0,
        endlineno=0,
        parent=cls,
        parameters=Parameters(self, *positional, *keyword),
        returns="None",
    )
    cls.set_member("__init__", init)


def _target(obj: Object, name: str) -> str | None:
    """The canonical path of the object ``name`` refers to in ``obj``'s docstring, if any."""
    name = name.lstrip("~.").removesuffix("()")
    first, _, rest = name.partition(".")
    scope = obj if isinstance(obj, Module | Class) else obj.parent
    try:
        if first == obj.package.name:  # already absolute
            target = obj.modules_collection[name]
        else:
            path = scope.resolve(first) if scope is not None else first
            target = obj.modules_collection[f"{path}.{rest}" if rest else path]
    except Exception:  # anything unresolvable is shown as code instead of a link
        return None
    return str(target.final_target.path if target.is_alias else target.path)


def _markdown(obj: Object, text: str) -> str:
    def link(match: re.Match[str]) -> str:
        written = match["name"]
        shown = written.rpartition(".")[2] if written.startswith("~") else written.lstrip(".")
        code = f"<code>{html.escape(shown)}</code>"
        target = _target(obj, written)
        if target is None or not target.startswith("serviceplaybook."):
            return code
        return f'<autoref identifier="{target}" optional>{code}</autoref>'

    return _LITERAL_BLOCK.sub(":\n", _ROLE.sub(link, text))


def _walk(obj: Object, seen: set[str]) -> None:
    if obj.path in seen:
        return
    seen.add(obj.path)
    if isinstance(obj, Class):
        _set_init(obj)
    if obj.docstring is not None:
        obj.docstring.value = _markdown(obj, obj.docstring.value)
    for member in obj.members.values():
        if not member.is_alias:
            _walk(member, seen)  # type: ignore[arg-type]


class AttrsInit(Extension):
    """Give attrs classes their ``__init__`` and turn Sphinx roles into links, package-wide."""

    def on_package(self, *, pkg: Module, **kwargs: Any) -> None:
        """Walk the package once it is loaded (base classes may live in other modules)."""
        _walk(pkg, set())
