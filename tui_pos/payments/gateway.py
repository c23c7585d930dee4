"""What the code-payment adapters (alipay.py, wechat.py) share, written once: whether the gateway
can be reached (online), the pay and refund requests this process sent lately (a provider's "no
such trade" right after one may be premature: not_exist_grace), and the customer's code masked in
whatever a provider echoes back.

Standard library and the domain only: the SDKs stay in each adapter, imported on first use."""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from tui_pos.domain.payments import GatewayReply, mask_code


def masked(text: str, code: str) -> str:
    """text with the customer's payment code masked (mask_code) wherever it shows."""
    return text.replace(code, mask_code(code)) if code else text


def masked_reply(reply: GatewayReply, code: str) -> GatewayReply:
    """The reply with the customer's code masked wherever the provider echoed it (a reply's reason
    and code are stored with the payment's outcome)."""
    if code and (code in reply.reason or code in reply.code):
        return replace(reply, reason=masked(reply.reason, code), code=masked(reply.code, code))
    return reply


class GatewayBase:
    """A provider's gateway at the URL `gateway`, each call given `timeout` seconds; the SDK's
    client (`_client`, made on first use under `_lock`) is the adapter's.

    not_exist_grace: how long after this process sent a pay or a refund a provider's "no such
    trade / refund" may still be premature (the request on its way: held in a proxy, a
    retransmitting TCP stack, a queue at the provider): twice the timeout and 5 s. The adapter
    notes what it sent (_note_sent) and asks _maybe_on_its_way before taking "no such" as final."""

    def __init__(self, gateway: str, timeout: float) -> None:
        self.gateway = gateway
        self.timeout = timeout
        self.not_exist_grace = 2 * timeout + 5.0
        self._client: Any = None
        self._lock = threading.Lock()
        self._sent: dict[str, float] = {}  # out_trade_no / out_refund_no -> when its request was sent

    def online(self) -> bool:
        """A TCP connect to the gateway's host within 1 s (the timeout, if shorter); no request is sent."""
        parts = urlsplit(self.gateway)
        if not parts.hostname:
            return False
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
            with socket.create_connection((parts.hostname, port), timeout=min(self.timeout, 1.0)):
                return True
        except (OSError, ValueError):  # refused, unreachable, timed out; a port that is no number
            return False

    def _note_sent(self, number: str, sent: float) -> None:
        """Remember that the request of `number` was sent at `sent` (time.monotonic()); forget
        those older than not_exist_grace (only the recent ones matter)."""
        with self._lock:
            for old, when in list(self._sent.items()):
                if sent - when >= self.not_exist_grace:
                    del self._sent[old]
            self._sent[number] = sent

    def _maybe_on_its_way(self, number: str) -> bool:
        """Whether a provider's "no such trade / refund" about `number` may be premature: this
        gateway sent its request less than not_exist_grace seconds ago."""
        with self._lock:
            sent = self._sent.get(number)
        return sent is not None and time.monotonic() - sent < self.not_exist_grace
