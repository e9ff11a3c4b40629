"""Alert rendering, and delivery through Apprise to a real SMTP server (aiosmtpd) on loopback."""

from __future__ import annotations

import email
import email.policy
import json
import subprocess
import sys
from dataclasses import replace

import pytest

from monitor.demo.mailbox import Mailbox
from monitor.errors import DeliveryError
from monitor.model import AlertRule, MatchSpan, Story, StoryCluster, TopicMatch
from monitor.notify import (
    channel_url_problem,
    deliver,
    failure_reason,
    render_alert,
    url_secrets,
)
from tests.support import WIRE_TITLE, LoopbackServer, Reply, free_port, seed_wire_story

RULE = AlertRule(id="putin-selenskyj", query="Putin AND Selenskyj", channels=("mail",))


def wire_story() -> tuple[Story, StoryCluster, tuple[MatchSpan, ...]]:
    story, cluster = seed_wire_story()
    start = story.article.text.index("Selenskyj")
    spans = (MatchSpan("text", start, start + len("Selenskyj"), "Selenskyj"),)
    return story, cluster, spans


def test_rendered_alert_names_title_outlets_topics_time_and_link() -> None:
    story, cluster, spans = wire_story()
    message = render_alert(RULE, story, cluster, spans)
    assert WIRE_TITLE in message.title
    assert "3 outlets so far: Alpenland Zeitung, Hanse-Kurier, Rundblick" in message.text
    assert "Topics: Ukraine war" in message.text
    assert "Published: 2025-08-15 20:07 UTC" in message.text
    assert f"Read: {story.article.canonical_url}" in message.text


def test_rendered_alert_says_which_topic_is_only_a_clear_lead() -> None:
    story, cluster, spans = wire_story()
    lead = TopicMatch("economy", "Economy", 0.38, (), "lead")
    message = render_alert(RULE, replace(story, topics=(*story.topics, lead)), cluster, spans)
    assert "Topics: Ukraine war, Economy (lead)" in message.text


def test_rendered_snippet_highlights_the_match() -> None:
    story, cluster, spans = wire_story()
    message = render_alert(RULE, story, cluster, spans)
    assert "*Selenskyj*" in message.text
    assert "<mark>Selenskyj</mark>" in message.html


def test_email_arrives_with_subject_and_highlighted_html(mailbox: Mailbox) -> None:
    story, cluster, spans = wire_story()
    deliver(
        "mail",
        f"mailto://127.0.0.1:{mailbox.port}?from=ww@localhost&to=desk@localhost&mode=insecure",
        render_alert(RULE, story, cluster, spans),
    )
    (path,) = mailbox.messages()
    message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert WIRE_TITLE in str(message["Subject"])
    html_part = message.get_body(("html",))
    text_part = message.get_body(("plain",))
    assert html_part is not None and "<mark>Selenskyj</mark>" in html_part.get_content()
    assert text_part is not None and "Hanse-Kurier" in text_part.get_content()
    assert story.article.canonical_url in text_part.get_content()


def test_webhook_receives_the_plain_text_alert(http_server: LoopbackServer) -> None:
    http_server.serve("/hook", Reply(200, b"ok"))
    story, cluster, spans = wire_story()
    deliver(
        "hook",
        f"json://127.0.0.1:{http_server.port}/hook",
        render_alert(RULE, story, cluster, spans),
    )
    (payload,) = [json.loads(body) for body in http_server.posted]
    assert WIRE_TITLE in payload["title"]
    assert "*Selenskyj*" in payload["message"]
    assert "3 outlets so far" in payload["message"]


def test_webhook_error_status_is_a_delivery_error(http_server: LoopbackServer) -> None:
    http_server.serve("/hook", Reply(500, b"down"))
    story, cluster, spans = wire_story()
    with pytest.raises(DeliveryError) as caught:
        deliver(
            "hook",
            f"json://127.0.0.1:{http_server.port}/hook",
            render_alert(RULE, story, cluster, spans),
        )
    assert "500" in str(caught.value)


def test_unreachable_smtp_server_is_a_delivery_error_with_a_reason() -> None:
    story, cluster, spans = wire_story()
    url = f"mailto://127.0.0.1:{free_port()}?from=ww@localhost&to=desk@localhost&mode=insecure"
    with pytest.raises(DeliveryError) as caught:
        deliver("mail", url, render_alert(RULE, story, cluster, spans))
    assert caught.value.channel == "mail"
    assert "mail" in str(caught.value)


def test_channel_url_problem_names_unusable_urls() -> None:
    assert (
        channel_url_problem("mailto://127.0.0.1:8025?from=ww@localhost&to=a@b.c&mode=insecure")
        is None
    )
    assert channel_url_problem("json://127.0.0.1:9000/hook") is None
    problem = channel_url_problem("nosuchscheme://x")
    assert problem is not None and "nosuchscheme" in problem


def test_channel_url_problem_passes_on_apprises_reason() -> None:
    problem = channel_url_problem("mailto://127.0.0.1:8025?to=a@b.c&mode=insecure")
    assert problem is not None and "From" in problem


def apprise_log(*records: tuple[str, str]) -> str:
    """Records as ``deliver`` captures them (``LOG_RECORD``)."""
    return "".join(f"\x1e{level}\t{message}\n" for level, message in records)


def test_a_failure_reason_is_apprises_last_warning_and_the_answer_nearest_it() -> None:
    log = apprise_log(
        ("DEBUG", "Response Details:\r\nb'first'"),
        ("WARNING", "Failed to send to A: error=500."),
        ("DEBUG", "Socket Exception: {'b@x': (550, b'no such user')}"),
        ("WARNING", 'Sending email to "b@x" failed.'),
        ("DEBUG", "Response Details:\r\nb'far'"),
        ("DEBUG", "something else"),
    )
    assert failure_reason(log) == (
        "Sending email to \"b@x\" failed. (error: {'b@x': (550, b'no such user')})"
    )


def test_a_failure_reason_is_one_line_and_cuts_a_long_answer() -> None:
    log = apprise_log(
        ("WARNING", "Failed to send\r\nto B."), ("DEBUG", "Response Details:\r\n" + "x" * 500)
    )
    assert failure_reason(log) == f"Failed to send to B. (response: {'x' * 300}…)"


def test_a_failure_apprise_gave_no_warning_for_says_so() -> None:
    assert failure_reason(apprise_log(("DEBUG", "Response Details:\r\nb'x'"))) == (
        "no reason given"
    )


def test_a_failure_reason_masks_secrets_even_where_the_answer_is_cut() -> None:
    token = "AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
    log = apprise_log(
        ("WARNING", f"Failed to send to /bot{token}."),
        ("DEBUG", "Socket Exception: " + "x" * 280 + f" url: /bot{token}/sendMessage"),
    )
    reason = failure_reason(log, {token})
    assert "AAHdq" not in reason and reason.startswith("Failed to send to /bot***.")


def test_the_secrets_of_a_channel_url_are_what_apprise_masks_in_it() -> None:
    import apprise

    service = apprise.Apprise.instantiate(
        "workflows://prod-1.logic.example.com:443/Wkflow1234/sigABCDEF1234567"
    )
    secrets = url_secrets(service)
    assert {"Wkflow1234", "sigABCDEF1234567"} <= secrets
    assert not secrets & {"prod-1.logic.example.com", "443", "workflows"}


def test_a_connection_error_does_not_show_the_url_signature_it_requested() -> None:
    """Apprise's error names the URL it requested: for Teams workflows, with the signature."""
    url = f"workflows://127.0.0.1:{free_port()}/Wkflow1234/sigABCDEF1234567"
    with pytest.raises(DeliveryError) as caught:
        deliver("teams", url, render_alert(RULE, *wire_story()))
    assert "triggers/manual/paths/invoke" in str(caught.value)  # the request's URL, masked
    assert "sigABCDEF1234567" not in str(caught.value) and "Wkflow1234" not in str(caught.value)


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_apprises_debug_records_never_reach_the_log(log_format: str) -> None:
    """``deliver`` lowers Apprise's level to read its debug records; the process's log still
    shows only libraries' warnings (those records name URLs with their tokens)."""
    script = (
        "from monitor.logs import configure_logging\n"
        f"configure_logging({log_format!r})\n"
        "from monitor.errors import DeliveryError\n"
        "from monitor.notify import Message, deliver\n"
        "try:\n"
        f"    deliver('teams', 'workflows://127.0.0.1:{free_port()}/Wkflow1234/sigABCDEF1234567',"
        " Message('t', 'b', '<p>b</p>'))\n"
        "except DeliveryError as exc:\n"
        "    print(exc)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert "A Connection error occurred" in ran.stdout  # the send did fail, and said so
    assert "sigABCDEF1234567" not in ran.stderr + ran.stdout
    assert "debug" not in ran.stderr.lower() and "Payload" not in ran.stderr
