"""Replays bindings/vectors.json, the answers of the Rust core, against the installed wheel."""

import pytest

import hpp_status
from hpp_status import Action, Status, Tracker, TransitionError
from conftest import body_of


def test_statuses_are_the_core_s(vectors):
    names = [s["name"] for s in vectors["statuses"]]
    assert [name for name in dir(Status) if name.isupper()] == sorted(names)
    for case in vectors["statuses"]:
        status = getattr(Status, case["name"])
        assert str(status) == case["name"]
        assert Status.parse(case["name"]) is status or Status.parse(case["name"]) == status
        assert status.is_final is case["final"]


def test_actions_are_the_core_s(vectors):
    assert len([n for n in dir(Action) if n.isupper()]) == len(vectors["actions"])
    for case in vectors["actions"]:
        action = getattr(Action, case["python"])
        assert str(action) == case["name"]
        assert action.target == getattr(Status, case["target"])


def test_transitions(vectors):
    for case in vectors["transitions"]:
        source, target = getattr(Status, case["from"]), getattr(Status, case["to"])
        assert source.can_transition_to(target) is case["can_transition"], case
        assert source.can_reach(target) is case["can_reach"], case


def test_applications_and_their_refusals(vectors):
    actions = {case["name"]: getattr(Action, case["python"]) for case in vectors["actions"]}
    for case in vectors["applications"]:
        source = getattr(Status, case["from"])
        action = actions[case["action"]]
        if case["error"] is None:
            assert source.apply(action) == getattr(Status, case["next"])
        else:
            with pytest.raises(TransitionError) as refused:
                source.apply(action)
            assert str(refused.value) == case["error"]
            assert isinstance(refused.value, ValueError)


def test_status_texts(vectors):
    for case in vectors["status_texts"]:
        if case["error"] is None:
            assert str(Status.parse(case["text"])) == case["text"]
        else:
            with pytest.raises(ValueError) as refused:
                Status.parse(case["text"])
            assert str(refused.value) == case["error"]
            # The tracker refuses a wire name with the same words.
            with pytest.raises(ValueError) as refused:
                Tracker().observe(case["text"], "2019-05-13T14:51:46.288Z")
            assert str(refused.value) == case["error"]


def test_timestamps(vectors):
    for case in vectors["timestamps"]:
        tracker = Tracker()
        if case["error"] is None:
            tracker.observe("WAITING", case["text"])
            assert tracker.updated_at == case["written"]
        else:
            with pytest.raises(ValueError) as refused:
                tracker.observe("WAITING", case["text"])
            assert str(refused.value) == case["error"]
            assert tracker.status is None


def test_histories(vectors):
    delivered = 0
    for history in vectors["histories"]:
        tracker = Tracker()
        for delivery in history["deliveries"]:
            if delivery["error"] is not None:
                with pytest.raises(ValueError) as refused:
                    tracker.observe(delivery["status"], delivery["updated_at"])
                assert str(refused.value) == delivery["error"]
                continue
            outcome = tracker.observe(delivery["status"], delivery["updated_at"])
            assert outcome.kind == delivery["kind"], delivery
            assert outcome.became_final is delivery["became_final"], delivery
            assert str(outcome.status) == delivery["held_status"]
            assert outcome.updated_at == delivery["held_updated_at"]
            assert str(tracker.status) == delivery["held_status"]
            delivered += 1
        assert tracker.to_json() == history["stored"]
        assert Tracker.from_json(history["stored"]).to_json() == history["stored"]
    assert delivered > 100


def test_stored_forms(vectors):
    for case in vectors["stored_forms"]:
        if case["refused"]:
            with pytest.raises(ValueError):
                Tracker.from_json(case["text"])
            continue
        tracker = Tracker.from_json(case["text"])
        expected = case["status"]
        assert (None if tracker.status is None else str(tracker.status)) == expected
        assert tracker.updated_at == case["updated_at"]
        assert tracker.to_json() == case["stored"]


FIELDS = ["status", "updated_at", "expires_at", "session_id", "authorization_token",
          "order_id", "klarna_reference", "problems"]


def check_read(read, expected, name):
    body_fields = {field: getattr(read, field) for field in FIELDS}
    for field in FIELDS:
        assert body_fields[field] == expected[field], (name, field)
    tracker = Tracker()
    observation = expected["observation"]
    if observation["error"] is None:
        outcome = tracker.observe_session(read)
        assert outcome.kind == "advanced"
        assert str(tracker.status) == observation["status"]
        assert tracker.updated_at == observation["updated_at"]
    else:
        with pytest.raises(ValueError) as refused:
            tracker.observe_session(read)
        assert str(refused.value) == observation["error"], name
        assert tracker.status is None


def test_payloads(vectors):
    for case in vectors["payloads"]:
        body = body_of(case)
        for parse, expected in ((hpp_status.parse_session, case["session"]),
                                (hpp_status.parse_callback, case["callback"])):
            if expected["refused"]:
                with pytest.raises(ValueError):
                    parse(body)
                continue
            read = parse(body)
            check_read(read, expected, case["name"])
            if parse is hpp_status.parse_callback:
                assert read.event_id == expected["event_id"]
            # The same body as bytes reads the same.
            if isinstance(body, str):
                assert parse(body.encode("utf-8")).problems == read.problems
