"""Who is at the till: logging in, PIN checks (counted by the PIN lockout), a manager's approvals,
and the audit events all of these (and the other use cases) leave."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from tui_pos.app.context import TillContext, log
from tui_pos.app.lockout import PinLockout
from tui_pos.app.ports import Document, RecordLog, ShopQueries
from tui_pos.domain.auth import Approval, ApprovalRequired, LoginFailed, PinRefused, User
from tui_pos.domain.errors import N_, StorageError, StorageFailed
from tui_pos.domain.records import AuditEvent


class Session:
    def __init__(self, ctx: TillContext, records: RecordLog, shop: ShopQueries, snapshot: Document,
                 lockout: PinLockout, cashier: str = ""):
        self.ctx = ctx
        self.records = records
        self.shop = shop
        self.snapshot = snapshot  # the people beside the journal, for logging in without the database
        self.lockout = lockout
        self.cashier = cashier
        self.user: User | None = None
        self._issued: dict[str, tuple[str, str]] = {}  # token -> (manager, action) of approvals given out, unused
        # runs an audit write nobody waits for (an approval's) off the caller's thread (the UI's); None: at once
        self.background: Callable[[Callable[[], None]], None] | None = None

    def sign_in(self, user: User) -> None:
        """Make this person (whose PIN was checked) the one at the till."""
        self.user, self.cashier = user, user.name

    # -- PINs -------------------------------------------------------------------------------
    def _user_rows(self) -> list[dict[str, Any]]:
        rows = self.shop.users()
        if rows is None:
            saved = self.snapshot.load()
            rows = saved.get("users", []) if saved else []
        return rows

    def check_pin(self, name: str, pin: str) -> User:
        """Whose name and PIN these are (LoginFailed if nobody's), without logging them in: a
        sign-in for one command (the CLI), or unlocking the till. Logged (never the PIN)."""
        user = self._verify_pin(name, pin)
        log.info("PIN accepted for %s (%s)", user.name, user.role)
        return user

    def _verify_pin(self, name: str, pin: str) -> User:
        """Whose name and PIN these are (LoginFailed if nobody's).
        Wrong PINs in a row lock that name out for a while; each failure is audited. A name that
        is nobody's is counted and audited as UNKNOWN_USER: what was typed there may be a PIN."""
        try:
            return self.lockout.verify(self._user_rows(), name, pin, datetime.fromisoformat(self.ctx.clock()))
        except PinRefused as refused:
            who, left = refused.who, refused.left
            if left is None:  # a guessing attack must show in the audit log, locked or not
                self.audit("login_failed", None, actor=who, detail={"locked": True})
                log.warning("login failed for %s: locked out after too many wrong PINs", who)
                raise
            self.audit("login_failed", None, actor=who)
            log.warning("login failed for %s: wrong name or PIN (%s)", who,
                        f"{left} more tries before a lockout" if left else "now locked out")
            minutes = self.ctx.config.pin_lockout_s // 60 or 1
            if left:
                raise LoginFailed(N_("unknown user or wrong PIN ({left} more tries before a lockout)"), left=left) from None
            raise LoginFailed(N_("unknown user or wrong PIN; {name} is locked for {minutes} min"), name=who,
                              minutes=minutes) from None

    def login(self, name: str, pin: str) -> User:
        """Check the PIN (slow on purpose: run it off the UI thread) and make this user the cashier."""
        user = self._verify_pin(name, pin)
        self.sign_in(user)
        self.audit("login", None)
        log.info("login %s (%s)", user.name, user.role)
        return user

    # -- approvals --------------------------------------------------------------------------
    def approve(self, name: str, pin: str, action: str, reason: str = "") -> Approval:
        """A manager's PIN turns into an Approval for one kind of action, used once."""
        manager = self._verify_pin(name, pin)
        if not manager.is_manager:
            log.warning("refused: %s is not a manager (asked to approve %s)", manager.name, action)
            raise LoginFailed(N_("{name} is not a manager"), name=manager.name)
        log.info("manager %s approved %s%s", manager.name, action, f" ({reason})" if reason else "")
        approval = Approval(manager.name, action, reason)
        self._issued[approval.token] = (manager.name, action)
        return approval

    def require(self, approval: Approval | None, action: str, message: str, **params: object) -> Approval:
        """The approval that allows this action: the manager logged in, or one this session
        issued for exactly this action and manager (it is used up). ApprovalRequired otherwise,
        saying message (a marked template, filled with params: see domain.errors.PosError)."""
        if self.user is not None and self.user.is_manager:
            return Approval(self.user.name, action)
        if approval is None or self._issued.get(approval.token) != (approval.manager, action) or approval.action != action:
            refused = ApprovalRequired(action, message, **params)
            log.info("refused: %s (%s asked by %s)", refused, action, self.cashier or "nobody logged in")
            raise refused
        del self._issued[approval.token]
        return approval

    # -- the audit log ----------------------------------------------------------------------
    def audit(self, action: str, approved: Approval | None, *, actor: str | None = None, subject: str | None = None,
              amount: int | None = None, detail: dict[str, Any] | None = None, required: bool = False) -> None:
        """Append an audit event (with the approving manager and their reason code). required: the
        operation must not go ahead unrecorded (StorageError); otherwise (logins) a failure to
        record is not a reason to stop the till. It waits on storage: never on the UI thread."""
        if approved is not None and approved.reason:
            detail = {**(detail or {}), "reason": approved.reason}
        event = AuditEvent.new(self.ctx.till_id, action, actor or self.cashier or None, subject=subject,
                               amount=amount, approved_by=approved.manager if approved else None, detail=detail,
                               at=self.ctx.clock())
        if required or self.background is None:
            self._record(event, required)
        else:  # nothing waits for it: the caller (the UI thread) goes on at once
            self.background(lambda: self._record(event, required))

    def _record(self, event: AuditEvent, required: bool) -> None:
        try:
            self.records.commit(event.to_record())
        except StorageFailed as err:
            if required:
                log.error("refused: %s not done, it could not be recorded (%s)", event.action, err)
                raise StorageError(N_("not done: it could not be recorded ({error})"), error=str(err)) from None
            log.warning("%s by %s could not be audited (%s)", event.action, event.actor, err)
        if event.action not in ("login", "login_failed"):  # those are logged by _verify_pin and login
            log.info("%s by %s%s%s%s", event.action, event.actor, f": {event.subject}" if event.subject else "",
                     f", amount {self.ctx.currency.format(event.amount)}" if event.amount is not None else "",
                     f", approved by {event.approved_by}" if event.approved_by else "")
