"""The node kinds of the condition language, and the phases of the compiler they appear in.

Every node is a frozen dataclass deriving from :class:`Node` and declares two things:

* ``role``: ``"value"`` (a number, text, boolean or date: something a comparison reads) or
  ``"condition"`` (something true or false);
* ``phases``: the trees the node may appear in. ``"parsed"`` is the parser's output,
  ``"checked"`` the type checker's output (the normaliser's input) and ``"normal"`` the
  normal form both engines compile. ``"leaf"`` marks the conditions that stay as items of
  the disjunctive normal form (everything but ``and`` / ``or`` / a constant).

Each pass of the compiler (and of both engines) is a generic function over these classes, one
case per kind (:func:`engine.rules._expr._dispatch.on_kind`, built on functools.singledispatch);
:func:`kinds` lists the classes a pass must handle, and tests/rules/test_expr_passes.py walks
every kind through every pass, so a new node kind cannot be forgotten by one of them.

Node kinds whose name starts with ``_`` are syntax only: the type checker and the normaliser
turn them into the public kinds (``not`` is pushed down, ``between`` / ``in`` / ``startswith``
are desugared, names are resolved).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Union

from engine.rules._expr._patterns import LinearPattern

__all__ = [
    "PHASES",
    "ROLES",
    "Node",
    "Num",
    "Str",
    "Bool",
    "Field",
    "BinOp",
    "Value",
    "Cmp",
    "IsNull",
    "Match",
    "Known",
    "And",
    "Or",
    "Const",
    "Condition",
    "kinds",
]

#: The trees of the compiler, in order (see the module docstring).
PHASES = ("parsed", "checked", "normal", "leaf")
ROLES = ("value", "condition")


class Node:
    """Base of every node kind: declares where the kind appears (see the module docstring)."""

    __slots__ = ()
    role: ClassVar[str]
    phases: ClassVar[frozenset[str]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        role = cls.__dict__.get("role")
        phases = cls.__dict__.get("phases")
        if role not in ROLES or not isinstance(phases, frozenset) or not phases <= set(PHASES):
            raise TypeError(
                f"node kind {cls.__name__} must declare role (one of {ROLES}) and phases "
                f"(a frozenset of {PHASES}); got role={role!r}, phases={phases!r}"
            )


def _phases(*names: str) -> frozenset[str]:
    return frozenset(names)


# --- values --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Num(Node):
    """A number literal (always a float: IEEE double arithmetic)."""

    role: ClassVar[str] = "value"
    phases: ClassVar[frozenset[str]] = _phases("parsed", "checked", "normal")
    value: float


@dataclass(frozen=True)
class Str(Node):
    """A text literal."""

    role: ClassVar[str] = "value"
    phases: ClassVar[frozenset[str]] = _phases("parsed", "checked", "normal")
    value: str


@dataclass(frozen=True)
class Bool(Node):
    """A boolean literal (``true`` / ``false``, or a boolean parameter)."""

    role: ClassVar[str] = "value"
    phases: ClassVar[frozenset[str]] = _phases("parsed", "checked", "normal")
    value: bool


@dataclass(frozen=True)
class Field(Node):
    """A declared input. ``type`` is the declared input type; ``days_since(d)`` becomes
    ``Field(d, 'number', days=True)`` because both engines receive dates as day counts."""

    role: ClassVar[str] = "value"
    phases: ClassVar[frozenset[str]] = _phases("checked", "normal")
    name: str
    type: str
    days: bool = False


@dataclass(frozen=True)
class BinOp(Node):
    """Arithmetic ``left op right`` with ``op`` one of ``+ - * /``."""

    role: ClassVar[str] = "value"
    phases: ClassVar[frozenset[str]] = _phases("parsed", "checked", "normal")
    op: str
    left: "Value"
    right: "Value"


Value = Union[Num, Str, Bool, Field, BinOp]


# --- conditions ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Cmp(Node):
    """``left op right``. After normalisation ``left`` is a :class:`Field` or ``Num(0.0)``."""

    role: ClassVar[str] = "condition"
    phases: ClassVar[frozenset[str]] = _phases("parsed", "checked", "normal", "leaf")
    op: str  # == != < <= > >=
    left: Value
    right: Value


@dataclass(frozen=True)
class IsNull(Node):
    """``field is null`` (or ``is not null`` when ``negated``)."""

    role: ClassVar[str] = "condition"
    phases: ClassVar[frozenset[str]] = _phases("checked", "normal", "leaf")
    field: Field
    negated: bool


@dataclass(frozen=True)
class Match(Node):
    """Full match of a string input against a pattern, character by character."""

    role: ClassVar[str] = "condition"
    phases: ClassVar[frozenset[str]] = _phases("normal", "leaf")
    field: Field
    pattern: str
    regex: LinearPattern

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Match) and (self.field, self.pattern) == (other.field, other.pattern)

    def __hash__(self) -> int:
        return hash((self.field, self.pattern))


@dataclass(frozen=True)
class Known(Node):
    """True when the value is not null (every input it reads is present, no division by 0)."""

    role: ClassVar[str] = "condition"
    phases: ClassVar[frozenset[str]] = _phases("normal", "leaf")
    value: Value


@dataclass(frozen=True)
class And(Node):
    """True when every item is true."""

    role: ClassVar[str] = "condition"
    phases: ClassVar[frozenset[str]] = _phases("parsed", "checked", "normal")
    items: tuple


@dataclass(frozen=True)
class Or(Node):
    """True when any item is true."""

    role: ClassVar[str] = "condition"
    phases: ClassVar[frozenset[str]] = _phases("parsed", "checked", "normal")
    items: tuple


@dataclass(frozen=True)
class Const(Node):
    """A condition known at load: always true or always false."""

    role: ClassVar[str] = "condition"
    phases: ClassVar[frozenset[str]] = _phases("checked", "normal")
    value: bool


Condition = Union[Cmp, IsNull, Match, Known, And, Or, Const]


# --- syntax only (removed by the checker or the normaliser) --------------------------------
@dataclass(frozen=True)
class _Not(Node):
    role: ClassVar[str] = "condition"
    phases: ClassVar[frozenset[str]] = _phases("parsed", "checked")
    item: object


@dataclass(frozen=True)
class _In(Node):
    role: ClassVar[str] = "condition"
    phases: ClassVar[frozenset[str]] = _phases("parsed", "checked")
    value: object
    items: tuple
    negated: bool


@dataclass(frozen=True)
class _Between(Node):
    role: ClassVar[str] = "condition"
    phases: ClassVar[frozenset[str]] = _phases("parsed", "checked")
    value: object
    low: object
    high: object
    negated: bool


@dataclass(frozen=True)
class _StartsWith(Node):
    """``value startswith prefix``; the prefix is a parameter name (``_Name``) until checked."""

    role: ClassVar[str] = "condition"
    phases: ClassVar[frozenset[str]] = _phases("parsed", "checked")
    value: object
    prefix: object


@dataclass(frozen=True)
class _Matches(Node):
    """``value matches pattern``; the pattern is a parameter name (``_Name``) until checked."""

    role: ClassVar[str] = "condition"
    phases: ClassVar[frozenset[str]] = _phases("parsed", "checked")
    value: object
    pattern: object


@dataclass(frozen=True)
class _IsNull(Node):
    role: ClassVar[str] = "condition"
    phases: ClassVar[frozenset[str]] = _phases("parsed")
    value: object
    negated: bool


@dataclass(frozen=True)
class _Name(Node):
    """A name as written: an input or a parameter, resolved by the checker."""

    role: ClassVar[str] = "value"
    phases: ClassVar[frozenset[str]] = _phases("parsed")
    name: str
    pos: int


@dataclass(frozen=True)
class _Call(Node):
    role: ClassVar[str] = "value"
    phases: ClassVar[frozenset[str]] = _phases("parsed")
    name: str
    args: tuple
    pos: int


@dataclass(frozen=True)
class _Null(Node):
    role: ClassVar[str] = "value"
    phases: ClassVar[frozenset[str]] = _phases("parsed")
    pos: int


def kinds(phase: str | None = None, role: str | None = None) -> tuple[type[Node], ...]:
    """The node kinds that may appear in ``phase`` with ``role`` (None: any).

    Parameters
    ----------
    phase : str, optional
        One of :data:`PHASES`.
    role : str, optional
        One of :data:`ROLES`.

    Returns
    -------
    tuple of type
        Every matching subclass of :class:`Node`, in definition order.

    Examples
    --------
    >>> [k.__name__ for k in kinds("normal", "value")]
    ['Num', 'Str', 'Bool', 'Field', 'BinOp']
    """
    if phase is not None and phase not in PHASES:
        raise ValueError(f"unknown phase {phase!r}; expected one of {PHASES}")
    if role is not None and role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {ROLES}")
    found: list[type[Node]] = []
    stack = list(reversed(Node.__subclasses__()))
    while stack:
        cls = stack.pop()
        found.append(cls)
        stack.extend(reversed(cls.__subclasses__()))
    return tuple(
        cls for cls in found
        if (phase is None or phase in cls.phases) and (role is None or cls.role == role)
    )
