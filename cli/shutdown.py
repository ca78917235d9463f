"""Leaving a short-lived command without the interpreter's teardown.

temporalio's Rust core keeps threads that can touch the GIL while CPython finalizes, so a
command that connected to Temporal sometimes aborts after its work is done ("Fatal Python
error: PyGILState_Release", exit 134; temporalio/sdk-python#300). Flushing the output and
leaving with os._exit skips that teardown; the exit code is the command's own.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import NoReturn


def exit_after(command: Callable[[], object]) -> NoReturn:
    try:
        result = command()
        code = result if isinstance(result, int) else 0
    except SystemExit as e:
        if isinstance(e.code, str):
            print(e.code, file=sys.stderr)
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except KeyboardInterrupt:
        code = 130
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
