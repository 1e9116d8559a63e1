"""The Python surface beyond the vectors: types, errors, and what a handler relies on."""

import pytest

import hpp_status
from hpp_status import Action, Status, Tracker, TransitionError


def test_status_is_an_enum_like_value():
    assert str(Status.BACK) == "BACK"
    assert repr(Status.BACK) == "Status.BACK"
    assert Status.parse("BACK") == Status.BACK
    assert {Status.BACK: 1}[Status.parse("BACK")] == 1
    assert Status.COMPLETED.is_final and not Status.FAILED.is_final


def test_parse_names_the_text():
    with pytest.raises(ValueError, match='"in_progress"'):
        Status.parse("in_progress")


def test_transition_error_is_a_value_error_with_the_core_s_words():
    assert issubclass(TransitionError, ValueError)
    with pytest.raises(TransitionError) as refused:
        Status.COMPLETED.apply(Action.DISABLE)
    assert str(refused.value) == "Disable is not possible from COMPLETED: COMPLETED is final"


def test_tracker_accepts_a_status_or_its_name():
    tracker = Tracker()
    assert tracker.status is None
    first = tracker.observe(Status.IN_PROGRESS, "2019-05-13T14:51:46.288Z")
    assert (first.kind, first.became_final) == ("advanced", False)
    done = tracker.observe("COMPLETED", "2019-05-13T14:53:00Z")
    assert (done.kind, done.became_final) == ("advanced", True)
    again = tracker.observe("COMPLETED", "2019-05-13T14:53:00.000Z")
    assert (again.kind, again.became_final) == ("duplicate", False)
    late = tracker.observe("IN_PROGRESS", "2019-05-13T14:51:46.288Z")
    assert late.kind == "stale"
    assert str(late).startswith("stale: IN_PROGRESS@2019-05-13T14:51:46.288Z")
    clash = tracker.observe("CANCELLED", "2019-05-13T14:54:00Z")
    assert (clash.kind, clash.became_final) == ("conflict", False)
    assert tracker.status == Status.COMPLETED
    with pytest.raises(TypeError):
        tracker.observe(3, "2019-05-13T14:51:46.288Z")


def test_stored_form_is_the_rust_crate_s():
    tracker = Tracker()
    assert tracker.to_json() == '{"latest":null}'
    tracker.observe("BACK", "2019-05-13T16:51:46.288+02:00")
    stored = tracker.to_json()
    assert stored == '{"latest":{"status":"BACK","updated_at":"2019-05-13T14:51:46.288Z"}}'
    assert Tracker.from_json(stored).status == Status.BACK
    with pytest.raises(ValueError, match="unknown field"):
        Tracker.from_json('{"v":2,"latest":null}')
    with pytest.raises(ValueError, match="missing field"):
        Tracker.from_json("{}")


def test_bodies_as_text_or_bytes():
    body = b'{"session":{"status":"TIMEOUT","updated_at":"2019-05-13T14:51:46.288Z"},"event_id":7}'
    callback = hpp_status.parse_callback(body)
    assert callback.status == "TIMEOUT"
    assert callback.problems == ["event_id"]
    with pytest.raises(ValueError, match="TIMEOUT"):
        Tracker().observe_session(callback)
    with pytest.raises(ValueError):
        hpp_status.parse_callback(b"\xff")
    with pytest.raises(ValueError):
        hpp_status.parse_session("[]")
    with pytest.raises(TypeError):
        hpp_status.parse_session(17)


def test_the_package_is_typed():
    import importlib.resources as resources

    files = resources.files("hpp_status")
    assert files.joinpath("py.typed").is_file()
    stub = files.joinpath("__init__.pyi").read_text()
    assert "class Tracker" in stub and "def observe_session" in stub
