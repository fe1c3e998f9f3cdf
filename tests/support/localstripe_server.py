"""Run localstripe (PyPI) on 127.0.0.1 and a free port, for the test session.

`python -m tests.support.localstripe_server` binds 127.0.0.1:0, prints the port it got
on the first line of stdout, and serves localstripe's aiohttp app until it is killed.
The store is kept in memory only: localstripe would otherwise pickle it to
/tmp/localstripe.pickle on every write, which parallel test runs would share."""

from __future__ import annotations

import socket
import sys

from aiohttp import web
from localstripe import resources
from localstripe.server import app


def main() -> None:
    resources.Store.dump_to_disk = lambda self: None  # type: ignore[method-assign]
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    sys.stdout.flush()
    web.run_app(app, sock=sock, print=None, access_log=None, handle_signals=True)


if __name__ == "__main__":
    main()
