"""Dispatch on the node kind: :func:`functools.singledispatch` with a plain-dict fast path.

Every pass of the compiler and of both engines is written as one generic function with one
case per node kind. ``functools.singledispatch`` resolves the case (through the class's MRO,
with the registry tests inspect), but each of its calls goes through a ``WeakKeyDictionary``
lookup: about three times the cost of the ``isinstance`` test it replaces, some 50 times per
compiled condition. :func:`on_kind` keeps singledispatch for registration and resolution and
remembers the resolved case per class in a plain dict, so a call costs about one ``isinstance``.
"""

from __future__ import annotations

from functools import singledispatch, update_wrapper
from typing import Any, Callable, Generic, Mapping, Protocol, TypeVar, cast

__all__ = ["KindDispatch", "on_kind"]

R = TypeVar("R")
R_co = TypeVar("R_co", covariant=True)


class KindDispatch(Protocol, Generic[R_co]):
    """A generic function over node kinds: call it, register cases, inspect its registry."""

    registry: Mapping[type, Callable[..., Any]]

    def __call__(self, node: Any, /, *args: Any) -> R_co: ...

    def register(self, cls: type, func: Callable[..., Any] | None = None) -> Callable[..., Any]: ...

    def dispatch(self, cls: type) -> Callable[..., Any]: ...


def on_kind(default: Callable[..., R]) -> KindDispatch[R]:
    """Turn ``default`` into a generic function dispatched on its first argument's class.

    ``default`` is the fallback, called for a class no case is registered for (it should
    raise). Cases are registered with ``.register(cls)`` as with ``functools.singledispatch``,
    whose ``registry`` and ``dispatch`` the result exposes.

    Examples
    --------
    >>> @on_kind
    ... def describe(node: object) -> str:
    ...     raise TypeError(f"no case for {type(node).__name__}")
    >>> @describe.register(int)
    ... def _(node: int) -> str:
    ...     return "a whole number"
    >>> describe(3), int in describe.registry, bool in describe.registry
    ('a whole number', True, False)
    >>> describe(True)  # a subclass takes its base's case, as with singledispatch
    'a whole number'
    """
    generic = singledispatch(default)
    resolve = generic.dispatch
    resolved: dict[type, Callable[..., R]] = {}

    def call(node: Any, /, *args: Any) -> R:
        try:
            case = resolved[node.__class__]
        except KeyError:
            case = resolved[node.__class__] = resolve(node.__class__)
        return case(node, *args)

    def register(cls: type, func: Callable[..., Any] | None = None) -> Callable[..., Any]:
        resolved.clear()  # a new case may change what a class already seen resolves to
        return generic.register(cls) if func is None else generic.register(cls, func)

    update_wrapper(call, default)
    wrapper = cast(Any, call)
    wrapper.register = register
    wrapper.dispatch = resolve
    wrapper.registry = generic.registry
    return cast(KindDispatch[R], wrapper)
