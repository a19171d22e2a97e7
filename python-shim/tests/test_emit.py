import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import read_events

from closekit_shim.emit import create_emitter, monotonic_ms


def test_line_format(events_file: Path) -> None:
    emit = create_emitter(str(events_file), "py")
    before = time.monotonic_ns() / 1e6
    emit("close.requested", {"reason": "participant_disconnected", "drain": False})
    emit("job.exit")
    after = monotonic_ms()
    lines = events_file.read_text().splitlines()
    assert len(lines) == 2
    e0, e1 = (json.loads(x) for x in lines)
    assert set(e0) == {"t", "ev", "runtime", "pid", "data"}
    assert e0["ev"] == "close.requested" and e0["runtime"] == "py" and e0["pid"] == os.getpid()
    assert e0["data"] == {"reason": "participant_disconnected", "drain": False}
    assert before <= e0["t"] <= e1["t"] <= after
    assert "data" not in e1


def test_unserialisable_data_is_stringified(events_file: Path) -> None:
    emit = create_emitter(str(events_file))
    emit("session.error", {"obj": object(), "n": 1})
    (e,) = read_events(events_file)
    assert e["data"]["n"] == 1 and isinstance(e["data"]["obj"], str)


def test_lines_survive_sigkill(events_file: Path) -> None:
    # a hung worker is killed, not exited: what emit() wrote must already be in the file
    code = (
        f"import os, signal, sys; sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})\n"
        "from closekit_shim.emit import create_emitter\n"
        f"e = create_emitter({str(events_file)!r})\n"
        "e('drain.start', {'step': 'drain'})\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    r = subprocess.run([sys.executable, "-c", code])
    assert r.returncode == -9
    (e,) = read_events(events_file)
    assert e["ev"] == "drain.start"


def test_t_is_clock_monotonic_like_node(events_file: Path) -> None:
    # Node's process.hrtime is CLOCK_MONOTONIC on Linux; time.clock_gettime agrees
    emit = create_emitter(str(events_file))
    emit("job.exit")
    (e,) = read_events(events_file)
    assert abs(e["t"] - time.clock_gettime(time.CLOCK_MONOTONIC) * 1000) < 1000


def test_unknown_event_name_is_refused(events_file: Path) -> None:
    # the JS emitter refuses the same names (ts/js-shim/emit.ts); nothing is written
    emit = create_emitter(str(events_file))
    with pytest.raises(ValueError, match="not a timeline event"):
        emit("drain.begin")
    assert read_events(events_file) == []
