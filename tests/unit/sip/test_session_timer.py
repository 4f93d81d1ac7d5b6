"""Session timers (RFC 4028): the negotiation on each side, and the timer on a fake clock."""

from __future__ import annotations

from sip_edge.sip.message import Request, Response
from sip_edge.sip.parsing import parse_message
from sip_edge.sip.session_timer import (
    Session,
    SessionTimer,
    TooSmall,
    answer_invite,
    answer_refresh,
    from_answer,
    offer_headers,
    timer_headers,
)
from sip_edge.sip.timers import FakeClock


def _message(first: str, *headers: str) -> Request | Response:
    text = (
        f"{first}\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKst1\r\nMax-Forwards: 70\r\n"
        "From: <sip:carrier@example.com>;tag=c1\r\nTo: <sip:+14155550100@edge>\r\nCall-ID: st-1\r\n"
        "CSeq: 1 INVITE\r\n" + "".join(f"{h}\r\n" for h in headers) + "Content-Length: 0\r\n\r\n"
    )
    return parse_message(text.encode())


def invite(*headers: str) -> Request:
    message = _message("INVITE sip:+14155550100@edge SIP/2.0", *headers)
    assert isinstance(message, Request)
    return message


def ok(*headers: str) -> Response:
    message = _message("SIP/2.0 200 OK", *headers)
    assert isinstance(message, Response)
    return message


def answer(request: Request) -> Session | TooSmall | None:
    return answer_invite(request, min_se=90, default_interval=1800)


def test_an_interval_below_our_minimum_is_refused_with_our_min_se() -> None:
    assert answer(invite("Supported: timer", "Session-Expires: 60")) == TooSmall(90)


def test_the_callers_interval_and_refresher_are_honoured() -> None:
    session = answer(invite("Supported: timer", "Session-Expires: 600;refresher=uas"))
    assert session == Session(600, we_refresh=True)
    assert session.header(we_are_uac=False) == "600;refresher=uas"
    assert answer(invite("Supported: timer", "Session-Expires: 600")) == Session(600, we_refresh=False)


def test_a_caller_that_supports_timers_but_asked_for_none_gets_ours_and_refreshes() -> None:
    assert answer(invite("Supported: 100rel, timer")) == Session(1800, we_refresh=False)
    assert answer(invite("Supported: timer", "Min-SE: 2400")) == Session(2400, we_refresh=False)


def test_a_caller_without_timer_support_gets_none_unless_a_proxy_asked_then_we_refresh() -> None:
    assert answer(invite()) is None
    assert answer(invite("Session-Expires: 900")) == Session(900, we_refresh=True, peer_supports=False)


def test_as_uac_we_ask_and_take_what_the_2xx_says() -> None:
    assert offer_headers(1800, 90) == [("Supported", "timer"), ("Session-Expires", "1800"), ("Min-SE", "90")]
    assert from_answer(ok("Session-Expires: 1200;refresher=uas")) == Session(1200, we_refresh=False)
    assert from_answer(ok("Session-Expires: 1200")) == Session(1200, we_refresh=True)
    assert from_answer(ok()) is None


def test_when_we_refresh_the_refresh_is_due_at_half_the_interval() -> None:
    clock, fired = FakeClock(), []
    timer = SessionTimer(
        clock, Session(100, we_refresh=True), refresh_due=lambda: fired.append("refresh"),
        expired=lambda: fired.append("expired"),
    )  # fmt: skip
    timer.start()
    clock.advance(49.9)
    assert fired == []
    clock.advance(0.2)
    assert fired == ["refresh"]


def test_when_the_peer_refreshes_the_session_expires_without_a_refresh_and_not_with_one() -> None:
    clock, fired = FakeClock(), []
    timer = SessionTimer(
        clock, Session(90, we_refresh=False), refresh_due=lambda: fired.append("refresh"),
        expired=lambda: fired.append("expired"),
    )  # fmt: skip
    timer.start()
    clock.advance(50)
    timer.start()  # a refresh came: the session starts again
    clock.advance(50)
    assert fired == []
    # §10: expiry at interval - min(32, interval / 3) = 60 s after the last refresh.
    clock.advance(10.1)
    assert fired == ["expired"]
    timer.stop()


def test_a_refresh_from_the_peer_may_change_the_interval_and_the_refresher() -> None:
    current = Session(1800, we_refresh=False)
    assert answer_refresh(invite("Session-Expires: 3600;refresher=uac"), current, 90) == Session(3600, False)
    assert answer_refresh(invite("Session-Expires: 900;refresher=uas"), current, 90) == Session(900, True)
    assert answer_refresh(invite("Session-Expires: 30"), current, 90) == Session(90, False)
    assert answer_refresh(invite(), current, 90) is current


def test_our_2xx_requires_timer_only_of_a_peer_that_supports_it() -> None:
    assert timer_headers(Session(600, False), we_are_uac=False) == [
        ("Session-Expires", "600;refresher=uac"),
        ("Supported", "timer"),
        ("Require", "timer"),
    ]
    assert timer_headers(Session(600, True, peer_supports=False), we_are_uac=False) == [
        ("Session-Expires", "600;refresher=uas"),
        ("Supported", "timer"),
    ]
    assert timer_headers(Session(600, True), we_are_uac=True)[0] == ("Session-Expires", "600;refresher=uac")
    assert timer_headers(None, we_are_uac=True) == []
