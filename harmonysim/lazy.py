"""Package exports loaded on first use (PEP 562), for packages whose modules are heavy.

``lazy_exports`` gives a package its module-level ``__getattr__`` and ``__dir__``:
a name is imported from its module the first time it is read, then cached in the
package's namespace, so importing one light module of the package (or building the
command line's parser) does not import every heavy one beside it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, tuple[str, ...]], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose ``namespace`` is its
    ``globals()``; ``exports`` maps each submodule to the names it provides."""
    module_of = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str) -> Any:
        module = module_of.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f"{package}.{module}"), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted([*namespace, *module_of])

    return __getattr__, __dir__
