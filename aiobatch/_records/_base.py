"""The base of every record view: a read-only mapping with declared properties."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, Never, Self, TypeVar, overload


class _DictWrapper(Mapping[str, Any]):
    """A read-only mapping over one record's dict, with typed properties.

    Equal to a wrapper of the same type over equal data, and to its raw record dict.
    ``repr`` shows identifiers, never content, since bodies and images can hold personal
    data.
    """

    __slots__ = ("_data",)

    # (shown name, key in the dict) pairs for repr; empty means "show the keys".
    _repr_keys: ClassVar[tuple[tuple[str, str], ...]] = ()

    def __init__(self, data: dict[str, Any]) -> None:
        self._data = data

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        return self._data.get(key, default)

    def __eq__(self, other: object) -> bool:
        # Equal to the raw record it wraps, as Powertools' users compare
        # (processor.success_messages[0] == event["Records"][0]).
        if isinstance(other, dict):
            return self._data == other
        if isinstance(other, _DictWrapper) and type(other) is type(self):
            return self._data == other._data
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        name = type(self).__name__
        if not self._repr_keys:
            return f"{name}(keys={list(self._data)!r})"
        shown = ", ".join(f"{label}={self._data.get(key)!r}" for label, key in self._repr_keys)
        return f"{name}({shown})"

    @property
    def raw_event(self) -> dict[str, Any]:
        """The wrapped dict itself (not a copy)."""
        return self._data


_T = TypeVar("_T")


class _Key(property, Generic[_T]):
    """A read-only property that returns one key of a wrapper's dict.

    ``_Key(key, doc)`` reads ``_data[key]`` (``KeyError`` when missing);
    ``_Key(key, doc, optional=True)`` reads ``_data.get(key)`` and must be declared
    ``_Key[T | None]``; ``convert=`` turns a value that is there into what the
    property returns. ``doc`` becomes its ``__doc__``. It is a class attribute, so it
    does not clash with the wrappers' ``__slots__``.

    It subclasses ``property`` rather than defining ``__get__`` in Python: access then
    costs what a hand-written property costs (a Python ``__get__`` costs about a third
    more), and ``help()``, IDEs, ``inspect`` and a setter's ``AttributeError`` treat it
    as the property it replaces. The ``__get__`` and ``__set__`` below are for type
    checkers only.
    """

    @overload
    def __init__(
        self: _Key[_T | None],
        key: str,
        doc: str,
        *,
        optional: Literal[True],
        convert: Callable[[Any], _T] | None = None,
    ) -> None: ...
    @overload
    def __init__(
        self,
        key: str,
        doc: str,
        *,
        optional: Literal[False] = False,
        convert: Callable[[Any], _T] | None = None,
    ) -> None: ...
    def __init__(
        self,
        key: str,
        doc: str,
        *,
        optional: bool = False,
        convert: Callable[[Any], Any] | None = None,
    ) -> None:
        get: Callable[[_DictWrapper], Any]
        if convert is not None and optional:

            def get(wrapper: _DictWrapper) -> Any:
                value = wrapper._data.get(key)
                return None if value is None else convert(value)
        elif convert is not None:

            def get(wrapper: _DictWrapper) -> Any:
                return convert(wrapper._data[key])
        elif optional:

            def get(wrapper: _DictWrapper) -> Any:
                return wrapper._data.get(key)
        else:

            def get(wrapper: _DictWrapper) -> Any:
                return wrapper._data[key]

        super().__init__(get)
        # property's own doc= argument is not kept on a subclass in Python 3.11.
        self.__doc__ = doc

    if TYPE_CHECKING:

        @overload
        def __get__(self, instance: None, owner: type[Any], /) -> Self: ...
        @overload
        def __get__(self, instance: _DictWrapper, owner: type[Any] | None = None, /) -> _T: ...
        def __get__(self, instance: Any, owner: type[Any] | None = None, /) -> Any: ...
        def __set__(self, instance: _DictWrapper, value: Never, /) -> None: ...
