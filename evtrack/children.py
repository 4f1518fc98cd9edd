"""Helper processes of our own: ``python -m evtrack.<module>`` speaking length-prefixed
pickles over its stdin and stdout.

Used where one job can keep the second core busy (ingest's parse workers,
:mod:`evtrack.parse_pool`; links.csv's second half, :mod:`evtrack.links_stream`).
multiprocessing would re-import the caller's ``__main__`` in every child (for ``evtrack`` the
whole CLI); these import their module and what it needs. The pickles only ever travel between
a process and the child it started, never through a file or the network.
"""

from __future__ import annotations

import os
import pickle
import struct
import subprocess
import sys
from typing import IO, Any

_LENGTH = struct.Struct("<Q")


def start(module: str) -> subprocess.Popen[bytes]:
    """``python -m module`` with its stdin and stdout as pipes to this process."""
    # The child finds evtrack where this process found it (a checkout, a venv …).
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    return subprocess.Popen([sys.executable, "-m", module], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, env=env)


def send(stream: IO[bytes] | None, message: Any) -> None:
    """Write one message and flush it."""
    assert stream is not None
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def receive_raw(stream: IO[bytes] | None) -> bytes:
    """The next message, still pickled; :class:`EOFError` when the other side stopped first."""
    assert stream is not None
    size = stream.read(_LENGTH.size)
    if len(size) < _LENGTH.size:
        raise EOFError("the other process stopped")
    length = _LENGTH.unpack(size)[0]
    data = stream.read(length)
    if len(data) < length:
        raise EOFError("the other process stopped mid-message")
    return data


def receive(stream: IO[bytes] | None) -> Any:
    """The next message; :class:`EOFError` when the other side stopped first."""
    return pickle.loads(receive_raw(stream))  # from our own process (module docstring)
