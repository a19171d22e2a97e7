import json
import re
from pathlib import Path

import pytest

from closekit_shim.spec import ScenarioError, load_scenario, parse_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_parses_the_json_the_orchestrator_writes(tmp_path: Path) -> None:
    # the shape ts/scenario/spec.ts produces after zod defaults
    obj = {
        "name": "hangup-tool-wedge",
        "description": "d",
        "seeds": ["003"],
        "caller": {"kind": "webrtc", "hangupAfter": "wedge.entered", "hangupDelayMs": 500, "cueTimeoutMs": 30000},
        "gateway": {"stt": {"transcripts": [], "idleCloseMs": 3000}, "llm": [{"text": "x"}], "tts": {"msPerChar": 40}},
        "wedge": {"where": "tool", "tool": "lookup_order", "ignores": "cancellation", "constructs": {}},
        "close": {"trigger": "caller-hangup", "closeOnDisconnect": False},
        "watchdogMs": 10000,
        "expect": {"unpatched": "hang", "patched": "closed"},
    }
    f = tmp_path / "s.json"
    f.write_text(json.dumps(obj))
    s = load_scenario(str(f))
    assert s.name == "hangup-tool-wedge"
    assert (s.wedge.where, s.wedge.tool, s.wedge.ignores) == ("tool", "lookup_order", "cancellation")
    assert s.close_on_disconnect is False
    assert s.raw["gateway"]["stt"]["idleCloseMs"] == 3000


def test_defaults() -> None:
    s = parse_scenario({"name": "n", "wedge": {"where": "none"}})
    assert s.close_on_disconnect is True
    assert s.wedge.ignores == "cancellation"


@pytest.mark.parametrize(
    "obj, field",
    [
        ([], "(root)"),
        ({"wedge": {"where": "none"}}, "name"),
        ({"name": "n"}, "wedge"),
        ({"name": "n", "wedge": {"where": "elsewhere"}}, "wedge.where"),
        ({"name": "n", "wedge": {"where": "tool"}}, "wedge.tool"),
        ({"name": "n", "wedge": {"where": "none", "ignores": "x"}}, "wedge.ignores"),
        ({"name": "n", "wedge": {"where": "none"}, "close": {"closeOnDisconnect": "yes"}}, "close.closeOnDisconnect"),
    ],
)
def test_bad_fields_name_the_path(obj: object, field: str) -> None:
    with pytest.raises(ScenarioError, match=re.escape(f"src: {field}:")):
        parse_scenario(obj, "src")


def test_unreadable_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(str(tmp_path / "missing.json"))
    f = tmp_path / "bad.json"
    f.write_text("{nope")
    with pytest.raises(ScenarioError, match="not JSON"):
        load_scenario(str(f))


def test_every_catalog_scenario_converted_by_the_kit_parses() -> None:
    # the repo's YAML catalog, read with the same fields the kit's JSON carries
    yaml = pytest.importorskip("yaml")
    files = sorted(SCENARIOS.glob("*.yaml"))
    assert files
    for f in files:
        s = parse_scenario(yaml.safe_load(f.read_text()), str(f))
        assert s.name == f.stem
