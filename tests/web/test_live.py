"""Live mode: a paced run feeds the index and the SSE stream pushes its state until the end."""

from __future__ import annotations

from pathlib import Path

import orjson
from fastapi.testclient import TestClient

from harmonysim.scenario import parse_scenario
from harmonysim.web import RunCatalog, create_app
from harmonysim.web.live import LiveRun

TINY = """
name: tiny-live
seed: 3
duration: 1500ms
cluster: {nodes: 3}
workload: {clients: 2, rate: 50/s}
"""


def test_sse_stream_delivers_growing_states_then_the_end(tmp_path: Path) -> None:
    live = LiveRun(parse_scenario(TINY, source="<test>"), tmp_path / "live", speed=3.0)
    app = create_app(RunCatalog(None, live))
    states: list[dict[str, object]] = []
    ended: dict[str, object] | None = None
    with TestClient(app) as client:
        live.start()
        with client.stream("GET", "/api/live/stream") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            event = ""
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    data = orjson.loads(line.removeprefix("data: "))
                    if event == "state":
                        states.append(data)
                    else:
                        ended = data
        run = client.get("/api/run").json()
    assert live.wait(10.0) and live.error is None
    assert ended is not None and ended["error"] is None
    ends = [float(state["end_ms"]) for state in states]  # type: ignore[arg-type]
    assert len(states) >= 3, "a 0.5 s paced run pushes several updates"
    assert ends == sorted(ends) and ends[0] < 1500.0 and ends[-1] == 1500.0
    assert states[-1]["finished"] is True and states[-1]["leader"] is not None
    assert run["mode"] == "live" and run["event_count"] == ended["event_count"]
    recorded = orjson.loads((tmp_path / "live" / "run.json").read_bytes())
    assert recorded["event_count"] == ended["event_count"]


def test_stopping_a_live_run_ends_it_early(tmp_path: Path) -> None:
    live = LiveRun(parse_scenario(TINY, source="<test>"), tmp_path / "live", speed=0.05)
    live.start()
    live.stop(timeout_s=10.0)
    assert live.done and live.error is None
    assert live.index.end_ms < 1500.0
    assert not (tmp_path / "live" / "run.json").exists()
