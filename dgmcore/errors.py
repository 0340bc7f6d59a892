"""Exception and warning types of dgmcore.

Every error dgmcore raises on purpose derives from :class:`DGMError`; every
warning from :class:`DGMWarning`, so a user can catch or filter them in one
place. Messages name the object involved (a distribution's formula text such as
``q(z|x)``, a loss formula, a plugin), what was expected and what was given.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "DGMError",
    "MissingVariableError",
    "InputTypeError",
    "ShapeError",
    "NoDensityError",
    "ParameterError",
    "ValueRangeError",
    "ForwardError",
    "GraphError",
    "KLNotFoundError",
    "NonFiniteLossError",
    "PluginError",
    "AmbiguousNameError",
    "UnknownNameError",
    "UnknownAttributeError",
    "DGMWarning",
    "PluginWarning",
]


class DGMError(Exception):
    """Base class of every error raised by dgmcore."""


class MissingVariableError(DGMError, KeyError):
    """A variable a distribution or loss needs is not in ``x_dict``.

    Also a :class:`KeyError`, so code written for plain dict lookups still
    catches it.
    """

    def __init__(self, variable: str, owner: str, given: Iterable[str] = ()) -> None:
        self.variable = variable
        self.owner = owner
        # keys of mixed types (a str and an int) do not compare: order them by their text
        self.given = sorted(given, key=str) if given else []
        super().__init__(
            f"{owner} needs the variable {variable!r}, but x_dict has "
            f"{self.given if self.given else 'no variables'}"
        )

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class InputTypeError(DGMError, TypeError):
    """``x_dict`` is not a dict of tensors (a bare tensor, a list, an array...)."""


class ShapeError(DGMError, ValueError):
    """A tensor's shape does not fit what the distribution or loss expects."""


class NoDensityError(DGMError, NotImplementedError):
    """A density was asked of a distribution that has none (``Deterministic``...)."""


class ParameterError(DGMError, ValueError):
    """A distribution parameter is invalid (e.g. a negative scale)."""


class ValueRangeError(DGMError, ValueError):
    """A value lies outside what its distribution or loss accepts.

    A label outside the ``K`` classes, a one-hot vector that does not sum to 1,
    a count above ``total_count``: the value has the right type and shape but
    is not in the support. The message names the variable, the distribution by
    its formula, the range expected and what was given. (A dtype the family
    cannot score, or a value that is not a tensor, is an
    :class:`InputTypeError`; a wrong shape a :class:`ShapeError`; an invalid
    parameter a :class:`ParameterError`.)
    """


class ForwardError(DGMError):
    """A user's ``forward`` (or the backward through it) raised; the original is chained as ``__cause__``."""


class GraphError(DGMError, ValueError):
    """A joint distribution is ill-formed: a cycle, or two factors generating one variable."""


class KLNotFoundError(DGMError, NotImplementedError):
    """No analytic KL divergence is registered for a pair of distributions."""


class NonFiniteLossError(DGMError, FloatingPointError):
    """A training step produced a NaN or infinite loss; nothing was updated."""


class PluginError(DGMError):
    """A plugin is broken, incompatible or could not be registered."""


class AmbiguousNameError(PluginError, LookupError):
    """Two plugins provide the same public name; use a qualified lookup."""


class UnknownNameError(DGMError, ImportError):
    """No core class and no installed plugin provides a name.

    A subclass of :class:`ImportError`, so that ``from dgmcore.distributions
    import X`` fails with this message (Python would replace the message of an
    ``AttributeError`` raised there by a generic one). The two base classes
    cannot both be had: CPython's ``ImportError`` and ``AttributeError`` have
    incompatible layouts. Use ``name in dir(namespace)`` to test for a name.
    """


class UnknownAttributeError(DGMError, AttributeError):
    """``dgmcore.<kind>.Name`` where no core class and no plugin provides ``Name``.

    Raised on attribute access of an unknown name, and an
    :class:`AttributeError`, so ``hasattr(namespace, name)`` and
    ``getattr(namespace, name, default)`` work. ``from dgmcore.<kind> import
    Name`` raises :class:`UnknownNameError` (an :class:`ImportError`) instead,
    with the same message; CPython cannot give one class both bases.
    """


class DGMWarning(UserWarning):
    """Base class of every warning emitted by dgmcore."""


class PluginWarning(DGMWarning):
    """A plugin is broken, disabled by a conflict, or declares an unknown hook."""
