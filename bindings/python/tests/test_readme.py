"""The README's callback handler, run as a merchant would copy it: against a stub of Read
Session, and once through its http.server handler on loopback."""

import pathlib
import re
import threading
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer

README = pathlib.Path(__file__).resolve().parents[1] / "README.md"

COMPLETED = (b'{"session_id":"s1","status":"COMPLETED","updated_at":"2019-05-13T14:53:00.000Z",'
             b'"authorization_token":"70850a20"}')
IN_PROGRESS = b'{"session_id":"s1","status":"IN_PROGRESS","updated_at":"2019-05-13T14:51:46.288Z"}'


def handler_module():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)
    source = next(block for block in blocks if "def on_status_callback" in block)
    module = {"__name__": "readme_handler"}
    exec(compile(source, str(README), "exec"), module)
    return module


def test_the_handler_places_the_order_once_and_refuses_a_forged_callback():
    handler = handler_module()
    handler["SECRETS"]["s1"] = "s3cret"
    on_callback = handler["on_status_callback"]
    assert on_callback("s1", "guess", read=lambda _: COMPLETED) == ("refuse",)
    assert on_callback("s1", "s3cret", read=lambda _: IN_PROGRESS) == ("nothing",)
    assert on_callback("s1", "s3cret", read=lambda _: COMPLETED) == ("place_order", "70850a20")
    assert on_callback("s1", "s3cret", read=lambda _: COMPLETED) == ("nothing",)
    # A late IN_PROGRESS read changes nothing.
    assert on_callback("s1", "s3cret", read=lambda _: IN_PROGRESS) == ("nothing",)
    assert on_callback("s2", "", read=lambda _: COMPLETED) == ("refuse",)
    timeout = b'{"status":"TIMEOUT","updated_at":"2019-05-13T14:51:46.288Z"}'
    handler["SECRETS"]["s3"] = "x"
    step, why = on_callback("s3", "x", read=lambda _: timeout)
    assert step == "investigate" and "TIMEOUT" in why


def test_the_http_handler_answers_on_loopback():
    handler = handler_module()
    handler["SECRETS"]["s1"] = "s3cret"
    handler["on_status_callback"].__defaults__ = (lambda _: COMPLETED,)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler["Callbacks"])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}/hpp/callbacks/s1"
        answer = urllib.request.urlopen(urllib.request.Request(base + "?secret=s3cret", data=b"{}"))
        assert answer.status == 200
        try:
            urllib.request.urlopen(urllib.request.Request(base + "?secret=nope", data=b"{}"))
            raise AssertionError("a forged callback was answered 2xx")
        except urllib.error.HTTPError as refused:
            assert refused.code == 403
        assert handler["TRACKERS"]["s1"].startswith('{"latest":{"status":"COMPLETED"')
    finally:
        server.shutdown()
        server.server_close()
