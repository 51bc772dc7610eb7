"""A user's own activation, named `package.module:function`: recognising, importing and fingerprinting it."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from typing import Any

# `package.module:function`: an absolute dotted module path (a relative one has no package to be
# relative to) and one attribute name.
_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*$")


def is_custom(name: str) -> bool:
    """A user's own activation is named `package.module:function`."""
    return ":" in name


def source_digest(function: Callable[..., Any]) -> str:
    """Short sha256 of a custom activation's source code (of its module's file when the source
    cannot be had), so that editing the function gives its runs new ids."""
    import hashlib
    import inspect
    from pathlib import Path

    try:
        text = inspect.getsource(function)
    except (OSError, TypeError):
        path = getattr(inspect.getmodule(function), "__file__", None)
        text = Path(path).read_text(encoding="utf-8", errors="replace") if path else repr(function)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def load_custom_function(name: str) -> Callable[..., Any]:
    """Import `package.module:function`; raises ValueError naming what is missing or malformed."""
    if not _NAME.match(name):
        raise ValueError(
            f"activation {name!r} is not of the form package.module:function (an absolute module path, e.g. "
            "my_activations:swish2, importable from where you run actbench)"
        )
    module_name, _, attr = name.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r} for activation {name!r}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - the module's own code failed: say so in one line, it is the user's code
        raise ValueError(
            f"importing module {module_name!r} for activation {name!r} failed: {type(exc).__name__}: {exc}"
        ) from None
    function = getattr(module, attr, None)
    if not callable(function):
        raise ValueError(f"module {module_name!r} has no function {attr!r} (activation {name!r})")
    return function
