"""Name lookup for every kind of configurable object: one rule, one error message.

Each family (activations, losses, layers, optimizers, initializers, regularizers, schedules)
keeps one ``Registry``, the only place where a saved name turns back into a class. Loading a
model file therefore instantiates registered classes and nothing else.

    ACTIVATIONS = Registry("activation", {"relu": ReLU, "sigmoid": Sigmoid})
    ACTIVATIONS.resolve("ReLU")                   # a new ReLU(): any case, underscores optional
    ACTIVATIONS.resolve({"class_name": "relu", "config": {}})
    ACTIVATIONS.serialize(ReLU())                 # {"class_name": "relu", "config": {}}

**The rule for names**: case and underscores are ignored, so Keras's class names
("LeakyReLU", "GlorotUniform", "SparseCategoricalCrossentropy") and our snake_case names
("leaky_relu", "glorot_uniform") find the same class. Saving writes the canonical name given at
registration. Lookup is a dict access, never a pattern match.

This module imports nothing, so the NumPy-only runtime can ship it (``tinynn.runtime``).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any


def normalize(name: str) -> str:
    """The lookup key of a name: lower case without underscores ("Leaky_ReLU" -> "leakyrelu")."""
    return name.lower().replace("_", "")


class Registry(MutableMapping):
    """Canonical name -> class, for one ``kind`` of object ("activation", "loss", …).

    Args:
        kind: what the objects are, for error messages.
        classes: {canonical name: class}.
        aliases: {extra name: canonical name}, e.g. {"mse": "mean_squared_error"}.
        defaults: {canonical name: constructor kwargs} used when ``resolve`` builds from a bare
            name (Keras's ``l1_l2`` shortcut means factors 0.01, not the class defaults of 0).
        base: the base class; ``resolve`` refuses an object of any other type.

    As a mapping it holds canonical name -> class: ``sorted(ACTIVATIONS)`` lists the names, and
    ``REGISTRY[name] = cls`` registers (as ``register`` does), ``del REGISTRY[name]`` removes.
    """

    def __init__(
        self,
        kind: str,
        classes: Mapping[str, type] | None = None,
        aliases: Mapping[str, str] | None = None,
        defaults: Mapping[str, dict[str, Any]] | None = None,
        base: type | None = None,
    ) -> None:
        self.kind = kind
        self.base = base
        self._classes: dict[str, type] = {}
        self._keys: dict[str, str] = {}
        self._defaults = dict(defaults or {})
        for name, cls in (classes or {}).items():
            self.register(cls, name)
        for alias, name in (aliases or {}).items():
            self._add_key(alias, name)

    # -- registering ------------------------------------------------------------------------

    def register(self, cls: type, name: str | None = None) -> type:
        """Add ``cls`` under ``name`` (default: its class name); returns cls, so it also works
        as a decorator. Its class name becomes a second way to find it."""
        name = cls.__name__ if name is None else name
        if name in self._classes and self._classes[name] is not cls:
            raise ValueError(f"a different {self.kind} is already registered as {name!r}")
        self._classes[name] = cls
        self._class_set = frozenset(self._classes.values())
        self._add_key(name, name)
        self._add_key(cls.__name__, name)
        return cls

    def _add_key(self, alias: str, name: str) -> None:
        key = normalize(alias)
        if self._keys.get(key, name) != name:
            raise ValueError(
                f"{alias!r} would name two {self.kind}s: {self._keys[key]!r}, {name!r}"
            )
        self._keys[key] = name

    # -- a mapping of canonical names --------------------------------------------------------

    def __getitem__(self, name: str) -> type:
        return self._classes[name]

    def __setitem__(self, name: str, cls: type) -> None:
        self.register(cls, name)

    def __delitem__(self, name: str) -> None:
        del self._classes[name]
        self._class_set = frozenset(self._classes.values())
        self._keys = {key: value for key, value in self._keys.items() if value != name}

    def __iter__(self) -> Iterator[str]:
        return iter(self._classes)

    def __len__(self) -> int:
        return len(self._classes)

    # -- lookup -----------------------------------------------------------------------------

    def lookup(self, name: Any) -> type:
        """The class registered under ``name`` (by the rule above), else ValueError."""
        canonical = self._keys.get(normalize(name)) if isinstance(name, str) else None
        if canonical is None:
            raise ValueError(f"Unknown {self.kind} {name!r}; expected one of {sorted(self)}")
        return self._classes[canonical]

    def name_of(self, obj: Any) -> str:
        """The canonical name of ``obj``'s exact class; a subclass is not its parent."""
        for name, cls in self._classes.items():
            if type(obj) is cls:
                return name
        raise ValueError(
            f"{type(obj).__name__} is not registered as a {self.kind}, so it cannot be saved; "
            f"registered: {sorted(self)}. Register it first: "
            f"tinynn.{self.kind}s.register({type(obj).__name__})"
        )

    def is_builtin(self, obj: Any) -> bool:
        """True if ``obj``'s exact class is registered (not a subclass of one)."""
        return type(obj) in self._class_set

    # -- objects ----------------------------------------------------------------------------

    def serialize(self, obj: Any) -> dict[str, Any]:
        """``{"class_name": canonical name, "config": obj.get_config()}``."""
        return {"class_name": self.name_of(obj), "config": obj.get_config()}

    def deserialize(self, spec: Any) -> Any:
        """Rebuild from ``{"class_name": ..., "config": {...}}``; unknown names are refused."""
        if not isinstance(spec, dict) or "class_name" not in spec:
            raise ValueError(
                f"a serialized {self.kind} is a dict {{'class_name': ..., 'config': {{...}}}}, "
                f"got {spec!r}"
            )
        config = spec.get("config", {})
        if not isinstance(config, dict):
            raise ValueError(f"{self.kind} {spec['class_name']!r} has no config dict")
        cls = self.lookup(spec["class_name"])
        try:
            return cls.from_config(dict(config))
        except TypeError as error:  # missing or unknown constructor arguments
            raise ValueError(
                f"{self.kind} {spec['class_name']!r}: the config does not fit: {error}"
            ) from None

    def resolve(self, identifier: Any) -> Any:
        """An instance from an instance (returned as it is), a name or a serialized dict.

        A name builds a new object with the registered defaults, so two layers never share
        one (activations cache their output).
        """
        if isinstance(identifier, dict):
            return self.deserialize(identifier)
        if isinstance(identifier, str):
            cls = self.lookup(identifier)
            name = self.name_of_class(cls)
            try:
                return cls(**self._defaults.get(name, {}))
            except TypeError:
                raise ValueError(
                    f"{self.kind} {identifier!r} needs arguments; pass an instance such as "
                    f"{cls.__name__}(...) or a dict {{'class_name': {name!r}, 'config': {{...}}}}"
                ) from None
        if isinstance(identifier, type):
            raise ValueError(f"pass an instance of {identifier.__name__}, not the class itself")
        if identifier is None:
            raise ValueError(f"a {self.kind} is required; expected one of {sorted(self)}")
        if self.base is not None and not isinstance(identifier, self.base):
            raise ValueError(
                f"Could not interpret {self.kind} {identifier!r}: expected a name from "
                f"{sorted(self)}, a dict {{'class_name': ..., 'config': ...}} or an instance "
                f"of {self.base.__name__}"
            )
        return identifier

    def name_of_class(self, cls: type) -> str:
        for name, registered in self._classes.items():
            if registered is cls:
                return name
        raise ValueError(f"{cls.__name__} is not a registered {self.kind}")
