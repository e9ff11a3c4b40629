"""A worker loads, before RQ forks a process per job, everything its jobs use: each job then
inherits it instead of loading it again (an import in every job costs every article)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from monitor.demo.mailbox import Mailbox
from monitor.model import stable_id
from monitor.redis_server import RedisHandle
from tests.support import DEMO_SITE, ROOT, LoopbackServer, Reply, loopback_fetch_config

WIRE_PAGE = "rundblick/politik/us-russland-gipfel-trump-putin-alaska-100.html"

# In a fresh process: a prepared worker runs an article job (a page on loopback) and the
# notify job it queues (mail to a real SMTP server); prints the modules the jobs imported.
JOBS = """
import json, sys
from pathlib import Path
from monitor.config import load_config
from monitor.model import FeedItem
from monitor.queues import QueueName, queue
from monitor.runner import prepare_worker
from workers import jobs

config_dir, data_dir, redis_url, url = sys.argv[1:]
runtime = prepare_worker(load_config(Path(config_dir)), Path(data_dir), redis_url)
loaded = set(sys.modules)
outcome = jobs.process_article(FeedItem("wire", "Wire", url, url))
imported = set(sys.modules) - loaded
notify = queue(QueueName.NOTIFY, runtime.connection).jobs  # taken before the fork, as RQ does
loaded = set(sys.modules)
sent = [job.perform() for job in notify]
imported |= set(sys.modules) - loaded
print(json.dumps({"outcome": outcome, "sent": len(sent), "imported": sorted(imported)}))
"""


def test_an_article_job_and_its_alert_import_nothing_the_worker_did_not_load(
    tmp_path: Path,
    redis_server: RedisHandle,
    redis_conn: object,
    http_server: LoopbackServer,
    mailbox: Mailbox,
    smtp_port: int,
) -> None:
    # The seed wire as the demo's first outlet runs it: navigation and teasers included.
    page = (DEMO_SITE / WIRE_PAGE).read_text(encoding="utf-8")
    http_server.routes["/wire.html"] = lambda _: Reply(
        200,
        page.replace("{{BASE_URL}}", http_server.base_url).encode(),
        {"Content-Type": "text/html; charset=utf-8"},
    )
    config = loopback_fetch_config(tmp_path, http_server.port).directory
    (config / "channels.yaml").write_text(
        "channels:\n  desk:\n    url: mailto://127.0.0.1:"
        f"{smtp_port}?from=ww@localhost&to=desk@localhost&mode=insecure\n"
    )
    (config / "alerts.yaml").write_text(
        "rules:\n  - id: summit\n    query: Putin AND Selenskyj\n    channels: [desk]\n"
    )
    ran = subprocess.run(
        [
            sys.executable,
            "-c",
            JOBS,
            str(config),
            str(tmp_path / "data"),
            redis_server.url,
            f"{http_server.base_url}/wire.html",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert ran.returncode == 0, ran.stderr[-3000:]
    result = json.loads(ran.stdout.splitlines()[-1])
    stored = stable_id(f"{http_server.base_url}/wire.html")
    assert (result["outcome"], result["sent"], len(mailbox.messages())) == (stored, 1, 1)
    assert result["imported"] == []
