"""A local code-payment gateway for the tests: a real HTTP server on loopback that keeps the money
(which trades charged the customer, which were reversed or refunded), with fault knobs. The
provider simulators (alipay_sim.py, wechat_sim.py) speak each provider's wire format and
signatures on top of it, so that the real SDKs talk to them unmodified.

    sim = Simulator(route)        # route(sim, method, path, headers, body) -> Reply | Drop
    sim.faults.pay = "timeout_after"
    ... sim.url ...
    assert sim.charged() == {"P...001": 350}   # what the customers were really charged, net
    sim.close()

The money rules live here, in one place, for every provider (Engine), and so do the keys and the
RSA signatures (SHA256withRSA, PKCS#1 v1.5: both providers' scheme) and what every provider's
simulator offers (ProviderSim: settings, gateway(), charged(), close()); each provider's module
only turns requests and replies into its wire format.
"""

from __future__ import annotations

import functools
import itertools
import threading
import time
from base64 import b64decode, b64encode
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


def rsa_pair() -> tuple[str, str]:
    """A new RSA-2048 key pair, (private, public) as PEM text: a merchant's or a provider's."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@dataclass(frozen=True)
class Keys:
    """RSA-2048 key pairs as PEM text: the merchant's (its gateway signs the requests with
    merchant_private; the simulator checks them) and the provider's (the simulator signs the
    replies with provider_private; the gateway checks them with provider_public)."""

    merchant_private: str
    merchant_public: str
    provider_private: str
    provider_public: str

    @staticmethod
    def new() -> Keys:
        merchant, provider = rsa_pair(), rsa_pair()
        return Keys(merchant[0], merchant[1], provider[0], provider[1])


@functools.cache
def shared_keys() -> Keys:
    """The simulators' keys, made once per process (an RSA-2048 key takes a while)."""
    return Keys.new()


@functools.cache
def _private_key(pem: str) -> rsa.RSAPrivateKey:
    """Loaded once per key: loading checks the key (~0.1 s), which would make every reply slow."""
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    return key


@functools.cache
def _public_key(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def sign(private_pem: str, message: str) -> str:
    """The base64 SHA256withRSA signature of message (UTF-8)."""
    return b64encode(_private_key(private_pem).sign(message.encode(), padding.PKCS1v15(), hashes.SHA256())).decode()


def verify(public_pem: str, message: str, signature: str) -> bool:
    """Whether signature (base64) is public_pem's key's SHA256withRSA signature of message."""
    try:
        _public_key(public_pem).verify(b64decode(signature), message.encode(), padding.PKCS1v15(), hashes.SHA256())
    except (InvalidSignature, ValueError):
        return False
    return True


PayFault = Literal["success", "fail", "userpaying", "timeout_before", "timeout_after", "http500", "drop_after"]


@dataclass
class Faults:
    """How the gateway misbehaves. pay: what a charge request meets:
    - success: charged at once;
    - fail: refused (fail_code/fail_reason, e.g. the code expired), nothing charged;
    - userpaying: the customer confirms on the phone for paying_for seconds, then `then`;
    - timeout_before: the reply never comes in time (hang seconds) and nothing was charged;
    - timeout_after: charged, then the reply never comes in time;
    - http500: HTTP 500 before anything was charged;
    - drop_after: charged, then the connection is dropped without a reply.
    query_lies_for: after a charge, queries still say "paying" for this many seconds.
    query: "ok" | "http500" | "drop" | "timeout": what queries meet (the network on the way back).
    cancel_refused_while_paying: the provider refuses a cancel while the customer is confirming."""

    pay: PayFault = "success"
    paying_for: float = 0.0
    then: Literal["success", "fail"] = "success"
    fail_code: str = "PAYMENT_AUTH_CODE_INVALID"
    fail_reason: str = "the payment code has expired"
    query_lies_for: float = 0.0
    query: Literal["ok", "http500", "drop", "timeout"] = "ok"
    refund: Literal["ok", "http500", "drop", "timeout", "processing"] = "ok"
    hang: float = 5.0  # how long a timeout keeps the client waiting (longer than its timeout)
    cancel_refused_while_paying: bool = True


TradeState = Literal["paying", "paid", "failed", "closed"]


@dataclass
class TradeRecord:
    out_trade_no: str
    amount: int
    code: str
    state: TradeState
    transaction_id: str
    created: float
    paying_until: float = 0.0  # userpaying: the customer confirms at this moment
    then: str = "success"
    lies_until: float = 0.0  # queries say "paying" until then
    refunded: dict[str, int] = field(default_factory=dict)  # out_refund_no -> amount
    refund_ids: dict[str, str] = field(default_factory=dict)  # out_refund_no -> the provider's refund id


class Clock:
    """A clock the test moves (Engine.clock = Clock()): the customer confirms on the phone, and a
    lying query stops lying, when the test says, however slow the machine is."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Engine:
    """The gateway's money: one record per out_trade_no; the same out_trade_no asked twice is the
    same trade (never charged twice), as at the real providers."""

    def __init__(self, faults: Faults, clock: Callable[[], float] = time.monotonic):
        self.faults = faults
        self.clock = clock
        self.trades: dict[str, TradeRecord] = {}
        self.requests: list[tuple[str, str]] = []  # (operation, out_trade_no), in order
        self._ids = itertools.count(1)
        self.lock = threading.RLock()

    def _settle(self, trade: TradeRecord) -> None:
        """A customer confirming on the phone finishes when their time is up."""
        if trade.state == "paying" and self.clock() >= trade.paying_until:
            trade.state = "paid" if trade.then == "success" else "failed"

    def pay(self, out_trade_no: str, amount: int, code: str) -> TradeRecord:
        with self.lock:
            self.requests.append(("pay", out_trade_no))
            trade = self.trades.get(out_trade_no)
            if trade is not None:  # the same trade asked again: its state, nothing charged twice
                self._settle(trade)
                return trade
            now, f = self.clock(), self.faults
            state: TradeState = {"fail": "failed", "userpaying": "paying"}.get(f.pay, "paid")  # type: ignore[assignment]
            trade = TradeRecord(out_trade_no, amount, code, state, f"4200{next(self._ids):024d}", now,
                                paying_until=now + f.paying_for, then=f.then, lies_until=now + f.query_lies_for)
            self.trades[out_trade_no] = trade
            return trade

    def query(self, out_trade_no: str) -> TradeRecord | None:
        """The trade as a query sees it (a lying gateway says "paying" for a while after a charge)."""
        with self.lock:
            self.requests.append(("query", out_trade_no))
            trade = self.trades.get(out_trade_no)
            if trade is None:
                return None
            self._settle(trade)
            if trade.state == "paid" and self.clock() < trade.lies_until:
                return TradeRecord(**{**trade.__dict__, "state": "paying"})
            return trade

    def cancel(self, out_trade_no: str) -> tuple[bool, TradeRecord | None]:
        """(done, trade): a cancel closes the trade and returns any charge; refused while the
        customer is still confirming when the provider's rules say so."""
        with self.lock:
            self.requests.append(("cancel", out_trade_no))
            trade = self.trades.get(out_trade_no)
            if trade is None:
                return True, None
            self._settle(trade)
            if trade.state == "paying" and self.faults.cancel_refused_while_paying:
                return False, trade
            trade.state = "closed"
            return True, trade

    def refund(self, out_trade_no: str, out_refund_no: str, amount: int) -> tuple[str, TradeRecord | None]:
        """("refunded" | "not_paid" | "too_much" | "no_trade", trade); the same out_refund_no twice
        is the same refund."""
        with self.lock:
            self.requests.append(("refund", out_trade_no))
            trade = self.trades.get(out_trade_no)
            if trade is None:
                return "no_trade", None
            self._settle(trade)
            if out_refund_no in trade.refunded:
                return "refunded", trade
            if trade.state != "paid":
                return "not_paid", trade
            if sum(trade.refunded.values()) + amount > trade.amount:
                return "too_much", trade
            trade.refunded[out_refund_no] = amount
            trade.refund_ids[out_refund_no] = f"5030{next(self._ids):024d}"
            return "refunded", trade

    def refund_query(self, out_refund_no: str, out_trade_no: str | None = None) -> tuple[TradeRecord | None, int | None]:
        """(the trade, the amount of its refund out_refund_no: None when there is no such refund),
        as a refund query sees them: the trade out_trade_no, or without it the one that holds
        that refund."""
        with self.lock:
            self.requests.append(("query_refund", out_refund_no))
            if out_trade_no is None:
                trade = next((t for t in self.trades.values() if out_refund_no in t.refunded), None)
            else:
                trade = self.trades.get(out_trade_no)
            return trade, trade.refunded.get(out_refund_no) if trade is not None else None

    def charged(self) -> dict[str, int]:
        """What each customer is really charged, net of refunds, per out_trade_no (paid trades only)."""
        with self.lock:
            for trade in self.trades.values():
                self._settle(trade)
            return {no: t.amount - sum(t.refunded.values()) for no, t in self.trades.items() if t.state == "paid"}


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)


class Drop:
    """Close the connection without a reply (after whatever the route did)."""


@dataclass(frozen=True)
class Hang:
    """Keep the client waiting this long, then send reply (or drop when reply is None)."""

    seconds: float
    reply: Reply | None = None


Route = Callable[["Simulator", str, str, dict[str, str], bytes], "Reply | Drop | Hang"]


class Simulator:
    """The HTTP server: route turns each request into a Reply, a Drop or a Hang."""

    def __init__(self, route: Route, faults: Faults | None = None):
        self.faults = faults or Faults()
        self.engine = Engine(self.faults)
        self.route = route
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet tests
                pass

            def _serve(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                answer = sim.route(sim, self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body)
                if isinstance(answer, Hang):
                    time.sleep(answer.seconds)
                    answer = answer.reply if answer.reply is not None else Drop()
                if isinstance(answer, Drop):
                    self.close_connection = True
                    return
                self.send_response(answer.status)
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer.body)))
                self.end_headers()
                self.wfile.write(answer.body)

            do_GET = do_POST = do_PUT = _serve

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def charge(self, out_trade_no: str, amount: int, code: str, answer: Callable[[TradeRecord], Reply],
               server_error: Reply) -> Reply | Drop | Hang:
        """A charge request under faults.pay: the route gives its wire answer for the trade and its
        HTTP 500; the transport faults (timeouts, a dropped connection) are applied here."""
        fault = self.faults.pay
        if fault == "http500":
            return server_error
        if fault == "timeout_before":
            return Hang(self.faults.hang)
        trade = self.engine.pay(out_trade_no, amount, code)
        if fault == "timeout_after":
            return Hang(self.faults.hang)
        if fault == "drop_after":
            return Drop()
        return answer(trade)

    def network(self, fault: str, answer: Callable[[], Reply], server_error: Reply) -> Reply | Drop | Hang:
        """Any other request (query, cancel, refund) under its fault knob: "http500", "drop" and
        "timeout" meet it before the gateway acts; anything else lets answer() act and reply."""
        if fault == "http500":
            return server_error
        if fault == "drop":
            return Drop()
        if fault == "timeout":
            return Hang(self.faults.hang)
        return answer()

    def charged(self) -> dict[str, int]:
        return self.engine.charged()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class ProviderSim:
    """A provider's gateway simulator: `sim` (the HTTP server, its faults, the money) speaking the
    provider's wire format (route(), the subclass's), `keys`, the `settings` its gateway class
    (gateway_class) takes to reach it, as config.toml's [payments.PROVIDER] would give them, and
    gateway(**overrides): such a gateway."""

    gateway_class: ClassVar[Callable[..., Any]]

    def __init__(self, faults: Faults | None = None, keys: Keys | None = None):
        self.keys = keys or shared_keys()
        self.sim = Simulator(self.route, faults or self.default_faults())

    @staticmethod
    def default_faults() -> Faults:
        return Faults()

    def route(self, sim: Simulator, method: str, path: str, headers: dict[str, str], body: bytes) -> Reply | Drop | Hang:
        raise NotImplementedError

    @property
    def settings(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return self.sim.url

    def gateway(self, **overrides: Any) -> Any:
        return self.gateway_class(**{**self.settings, **overrides})

    def charged(self) -> dict[str, int]:
        """What the customers are really charged, net, per out_trade_no (the Engine's money)."""
        return self.sim.charged()

    def close(self) -> None:
        self.sim.close()
