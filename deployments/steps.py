"""Pull step for every pingan deployment: enter the project directory on the worker.

The entrypoints (``flows/tick.py:tick``) are paths relative to the project, and a relative
``PINGAN_HOME`` (``.pingan``) should mean the same place whether a flow runs under a worker
or from the CLI. A worker's flow-run process otherwise starts in a temporary directory.
"""

from __future__ import annotations

import os
from pathlib import Path

# The directory holding flows/, tasks/ and deployments/: the checkout for an editable
# install, site-packages for a wheel (which carries those packages too).
INSTALLED_ROOT = Path(__file__).resolve().parent.parent


def enter_project(directory: str | None = None) -> dict[str, str]:
    """chdir to ``directory``, else ``$PINGAN_ROOT``, else where this code is installed."""
    target = Path(directory or os.environ.get("PINGAN_ROOT") or INSTALLED_ROOT).expanduser()
    if not (target / "flows" / "tick.py").is_file():
        raise FileNotFoundError(
            f"{target} 不是 pingan 项目目录（缺少 flows/tick.py）；请在 worker 上设置 PINGAN_ROOT"
        )
    os.chdir(target)
    return {"directory": str(target)}
