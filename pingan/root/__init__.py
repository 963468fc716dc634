"""The composition root: everything a process needs, built once from one validated Settings.

Faces (CLI, portal, demo) and Prefect tasks ask here for the engine, the channels, the
stores and the clock; nothing below this package reads the environment or builds an engine
of its own. Tests and the demo ``install`` a container built from their own ``Settings``
(and fakes); a worker builds the default one from PINGAN_* variables on first use.
"""

from __future__ import annotations

from pingan.root.container import Container, build, container, install, reset, settings
from pingan.root.settings import ChannelOverride, Settings, load_settings

__all__ = [
    "ChannelOverride",
    "Container",
    "Settings",
    "build",
    "container",
    "install",
    "load_settings",
    "reset",
    "settings",
]
