"""The one Jinja environment for rendered configuration files (BIRD, unbound, nft...).

Every capability keeps its templates in its own ``templates/`` folder and gets them through
``environment(package)``: the same settings everywhere, so a template behaves the same in
every folder (undefined variables are errors, block tags leave no blank lines, no HTML
escaping: these are configuration files, not pages).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

import jinja2


@cache
def _environment(package: str, filters: tuple[tuple[str, Callable[..., Any]], ...]
                 ) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader(package, "templates"),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # configuration files, not HTML
    )
    env.filters.update(dict(filters))
    return env


def environment(package: str, **filters: Callable[..., Any]) -> jinja2.Environment:
    """The environment of ``package``'s ``templates/`` folder, with its extra ``filters``."""
    return _environment(package, tuple(sorted(filters.items())))
