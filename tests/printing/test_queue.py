"""The print queue and worker against an in-memory printer: every state transition, a restart
in the middle of a receipt (a real SIGKILL), the printer coming back, journaled sales.

Sales are made through the real Till into a real SQLite file; job states are read back with our
own sqlite3 connection; what "came out of the printer" is decoded from the bytes it received.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from conftest import COLA, NOODLES, database_write_locked
from tui_pos.app.till import Till
from tui_pos.bootstrap.till import open_till
from tui_pos.config import load_config
from tui_pos.domain.tender import Tender
from tui_pos.printing.printer import Printer
from tui_pos.printing.queue import WORKER_LOCK_NAME, PrinterLock, PrintQueue, worker_running
from tui_pos.printing.worker import PrintWorker

from .escpos_decode import decode
from .fakes import FakePrinter, job_rows, printed_receipts, receipt_state

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def config(shop_dir):
    return load_config(shop_dir)


@pytest.fixture
def till(config):
    t = open_till(config, cashier="demo", keep_cart=False)
    yield t
    t.close()


@pytest.fixture
def fake():
    return FakePrinter()


@pytest.fixture
def queue(config, fake):
    q = PrintQueue(config, Printer(fake, status_timeout_s=0.05))
    yield q
    q.close()


def sell(till: Till, kind: str = "cash", reference: str = "", code: str = COLA):
    till.scan(code, 2)
    total = till.cart.totals(till.config.prices_include_tax).total
    return till.pay([Tender(kind, total, reference)]).sale


def test_pending_receipts_print_once_in_order(config, till, queue, fake):
    """pending -> printing -> printed, oldest first; a second round sends nothing more."""
    a, b = sell(till), sell(till)
    assert [receipt_state(config.db_path, s.uuid) for s in (a, b)] == ["pending", "pending"]
    results = queue.run_once()
    assert [(r.receipt, r.state) for r in results] == [(a.receipt, "printed"), (b.receipt, "printed")]
    assert job_rows(config.db_path, a.uuid) == [("receipt", "printed", 1)]
    assert queue.run_once() == []
    assert fake.receipts() == [(a.receipt, False), (b.receipt, False)]


def test_printer_off_leaves_jobs_untouched_and_they_resume_when_it_is_back(config, till, queue, fake):
    """While the printer is away the worker's rounds change nothing (no state churn, no
    attempts counted); when it comes back every waiting receipt prints, once."""
    fake.present = False
    sales = [sell(till), sell(till, "card", "AUTH1")]
    for _ in range(3):
        assert queue.run_once() == []
    assert [job_rows(config.db_path, s.uuid) for s in sales] == [[("receipt", "pending", 0)]] * 2
    assert fake.received == b""
    fake.present = True
    assert [r.state for r in queue.run_once()] == ["printed", "printed"]
    assert fake.receipts() == [(s.receipt, False) for s in sales]


@pytest.mark.parametrize("fault, reason", [
    (dict(present=False), "unplugged"),
    (dict(busy=True), "busy"),
    (dict(online=False), "offline"),
    (dict(paper="out"), "out of paper"),
    (dict(cover_open=True), "cover open"),
])
def test_fault_before_sending_fails_the_job_then_it_prints_once(config, till, queue, fake, fault, reason):
    """pending -> printing -> failed when the printer cannot take the receipt (nothing sent),
    then failed -> printing -> printed once it can: the customer gets exactly one receipt."""
    sale = sell(till)
    for knob, value in fault.items():
        setattr(fake, knob, value)
    result = queue.print_sale(sale.uuid, wait_s=0)
    assert result.state == "failed" and reason in result.error
    assert job_rows(config.db_path, sale.uuid) == [("receipt", "failed", 1)]
    assert fake.receipts() == []  # only status queries reached it
    [unprinted] = queue.unprinted()
    assert (unprinted.receipt, unprinted.state) == (sale.receipt, "failed") and reason in unprinted.last_error
    fake.__init__()  # printer fixed (knobs back to normal), nothing it received is kept
    assert [r.state for r in queue.run_once()] == ["printed"]
    assert job_rows(config.db_path, sale.uuid) == [("receipt", "printed", 2)]
    assert fake.receipts() == [(sale.receipt, False)]
    assert queue.unprinted() == []


def test_write_failing_halfway_is_uncertain_and_never_sent_again(config, till, queue, fake):
    """A write that times out after the first bytes: part of the receipt may print (now, or
    after a paper reload), so the job is uncertain, stays listed, and is never resent by
    itself; the batch stops there, and the next sale's receipt waits for the next round.
    The cashier's reprint is marked COPY."""
    first, second = sell(till), sell(till)
    fake.fail_after = 300
    results = queue.run_once()
    assert [(r.receipt, r.state) for r in results] == [(first.receipt, "uncertain")]
    assert "timed out" in results[0].error and "bytes" in results[0].error
    assert receipt_state(config.db_path, second.uuid) == "pending"
    fake.fail_after = None
    assert [(r.receipt, r.state) for r in queue.run_once()] == [(second.receipt, "printed")]
    assert queue.run_once() == []
    assert [u.receipt for u in queue.unprinted()] == [first.receipt]
    copy = queue.reprint(first.receipt)
    assert copy.state == "printed" and copy.kind == "copy"
    assert queue.unprinted() == []
    assert job_rows(config.db_path, first.uuid) == [("receipt", "uncertain", 1), ("copy", "printed", 1)]
    assert fake.receipts() == [(first.receipt, False), (second.receipt, False), (first.receipt, True)]


def test_paper_running_out_during_the_receipt_makes_it_uncertain(config, till, queue, fake):
    """All bytes were taken, but the printer then reports no paper: the end of the receipt sits
    in its buffer and may or may not come out. The cashier decides; nothing is resent."""
    sale = sell(till)
    fake.paper_out_after = 200
    [result] = queue.run_once()
    assert result.state == "uncertain" and "out of paper" in result.error
    fake.paper, fake.paper_out_after = "ok", None
    assert queue.run_once() == []
    assert queue.confirm_printed(sale.receipt)  # the cashier saw it come out after the reload
    assert job_rows(config.db_path, sale.uuid) == [("receipt", "printed", 1)]
    assert queue.unprinted() == [] and fake.receipts() == [(sale.receipt, False)]


def test_printer_that_never_answers_status_still_prints_and_costs_one_wait(config, till, fake):
    """Many printers never answer DLE EOT over USB: print anyway. Only the first probe waits
    for the answer; later probes do not (status reads are never allowed to pile up)."""
    fake.answers = False
    printer = Printer(fake, status_timeout_s=0.3)
    queue = PrintQueue(config, printer)
    sales = [sell(till), sell(till)]
    assert [r.state for r in queue.run_once()] == ["printed", "printed"]
    assert len(fake.waits) == 1  # three probes (before each receipt, and the round's), one 0.3 s wait
    assert printer.last_status.state == "ready_no_status"
    assert fake.receipts() == [(s.receipt, False) for s in sales]
    queue.close()


def test_paper_near_end_prints_and_says_so(config, till, queue, fake):
    sale = sell(till)
    fake.paper = "near_end"
    assert queue.print_sale(sale.uuid, wait_s=0).state == "printed"
    assert queue.printer.last_status.state == "paper_near_end"
    assert "nearly out" in queue.printer.last_status.text


def test_killed_mid_receipt_the_job_becomes_uncertain_on_restart(config, till, tmp_path, fake):
    """A real crash: a process printing the receipt is SIGKILLed after 100 bytes. 'printing'
    was committed before the first byte, so the restarted queue knows it may have printed:
    uncertain, listed for the cashier, never printed again by itself."""
    sale = sell(till)
    marker, out = tmp_path / "marker", tmp_path / "out.bin"
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("crash_printer.py")),
                             str(config.data_dir), str(marker), str(out)], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        deadline = time.monotonic() + 20
        while not marker.exists():
            assert proc.poll() is None and time.monotonic() < deadline, "the printing process did not start"
            time.sleep(0.02)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert job_rows(config.db_path, sale.uuid) == [("receipt", "printing", 1)]
    assert out.stat().st_size == 100  # the start of the receipt did reach the printer
    queue = PrintQueue(config, Printer(fake, status_timeout_s=0.05))
    assert queue.run_once() == []
    assert job_rows(config.db_path, sale.uuid) == [("receipt", "uncertain", 1)]
    [row] = queue.unprinted()
    assert row.state == "uncertain" and "interrupted" in row.last_error
    assert fake.receipts() == []
    queue.close()


def test_journaled_sale_prints_and_replay_does_not_print_it_again(config, till, queue, fake):
    """Degraded mode: the database is locked, the sale goes to the journal with no print_job
    row. It prints all the same (its states go to the print-state log); after replay inserts
    its row (as 'pending') the log's 'printed' is applied, so it never prints twice."""
    with database_write_locked(config.data_dir):
        sale = sell(till)
        assert till.storage().mode == "degraded"
        assert receipt_state(config.db_path, sale.uuid) is None  # no row: only in the journal
        assert [u.stored for u in queue.unprinted()] == ["journal"]
        assert [(r.receipt, r.state) for r in queue.run_once()] == [(sale.receipt, "printed")]
        assert queue.unprinted() == []
    assert till.replay().replayed == 1
    assert receipt_state(config.db_path, sale.uuid) == "pending"  # as replay inserts every job
    assert queue.unprinted() == []  # the log knows better, even before reconciling
    assert queue.run_once() == []
    assert job_rows(config.db_path, sale.uuid) == [("receipt", "printed", 1)]
    assert fake.receipts() == [(sale.receipt, False)]


def test_journaled_sale_interrupted_mid_print_stays_uncertain_through_replay(config, till, fake):
    """A crash while a journaled sale prints leaves 'printing' in the log; after the restart
    and the replay the database row says uncertain, and nothing is printed again."""
    with database_write_locked(config.data_dir):
        sale = sell(till)
        fake.fail_after = 10**9
        crashing = PrintQueue(config, Printer(fake, status_timeout_s=0.05))

        def die(*_args, **_kwargs):
            raise SystemExit("power cut")  # not an Exception: nothing records the outcome

        crashing.printer.send = die
        with pytest.raises(SystemExit):
            crashing.run_once()
        restarted = PrintQueue(config, Printer(fake, status_timeout_s=0.05))
        assert restarted.run_once() == []
        assert [(u.receipt, u.state, u.stored) for u in restarted.unprinted()] == [(sale.receipt, "uncertain", "journal")]
    till.replay()
    assert restarted.run_once() == []
    assert job_rows(config.db_path, sale.uuid) == [("receipt", "uncertain", 1)]
    assert fake.receipts() == []
    assert restarted.reprint(sale.receipt).state == "printed"
    assert restarted.unprinted() == [] and fake.receipts() == [(sale.receipt, True)]
    restarted.close()


def test_journaled_sale_can_be_reprinted_before_replay(config, till, queue, fake):
    with database_write_locked(config.data_dir):
        sale = sell(till)
        fake.present = False
        assert queue.run_once() == []
        fake.present = True
        result = queue.reprint(sale.receipt)
        assert (result.kind, result.state) == ("copy", "printed")
        assert queue.unprinted() == []  # the customer has a receipt (the copy)
    till.replay()
    queue.run_once()
    assert fake.receipts() == [(sale.receipt, True)]
    assert job_rows(config.db_path, sale.uuid) == [("receipt", "pending", 0), ("copy", "printed", 1)]
    assert queue.unprinted() == []


def test_unprinted_lists_amount_time_and_payment_references(config, till, queue, fake):
    """What the "paid but no receipt" screen and `tui-pos receipts --unprinted` show."""
    fake.present = False
    card = sell(till, "card", "AUTH77")
    mobile = sell(till, "mobile", "4200001234", code=NOODLES)
    rows = queue.unprinted()
    assert [(r.receipt, r.total, r.state, r.references) for r in rows] == [
        (card.receipt, 700, "pending", ["AUTH77"]),  # 2 x 3.50
        (mobile.receipt, 900, "pending", ["4200001234"]),  # 2 x 4.50
    ]
    assert rows[0].completed_at == card.completed_at


def test_cash_drawer_opens_only_with_a_fresh_original_cash_receipt(config, till, fake, queue):
    """The drawer kick goes with the first attempt of a cash sale's own receipt, while the
    customer is there (60 s); never with a card sale, a retry, a late print or a copy."""
    cash, card = sell(till), sell(till, "card", "A1")
    queue.run_once()
    busy_first = sell(till)
    fake.busy = True
    queue.print_sale(busy_first.uuid, wait_s=0)
    fake.busy = False
    queue.run_once()  # the retry
    queue.reprint(cash.receipt)
    late = sell(till)
    later = datetime.fromisoformat(late.completed_at) + timedelta(seconds=61)
    PrintQueue(config, Printer(fake, status_timeout_s=0.05), clock=lambda: later.isoformat()).run_once()
    jobs = [b"\x1b@" + job for job in bytes(fake.received).split(b"\x1b@")[1:]]
    kicks = [(printed_receipts(job), bool(decode(job).kinds("drawer"))) for job in jobs]
    kicks = [(found[0], drawer) for found, drawer in kicks if found]
    assert kicks == [((cash.receipt, False), True), ((card.receipt, False), False),
                     ((busy_first.receipt, False), False), ((cash.receipt, True), False),
                     ((late.receipt, False), False)]


def test_sell_waits_for_a_running_till_that_holds_the_printer(config, till, queue, fake):
    """`tui-pos sell` while the till owns the printer: it does not fight for it; it waits a few
    seconds at most and reports the state the till's worker reached. The receipt prints once."""
    sale = sell(till)
    other = PrinterLock(config.data_dir / "printer.lock")  # the till's process is printing
    assert other.acquire(0)
    started = time.monotonic()
    assert queue.print_sale(sale.uuid, wait_s=0.6).state == "pending"
    assert 0.5 < time.monotonic() - started < 2.0
    other.release()

    fake.busy = True  # the till's process holds the USB interface
    started = time.monotonic()
    assert queue.print_sale(sale.uuid, wait_s=4).state == "failed"  # no till running: no waiting
    assert time.monotonic() - started < 2
    running_till = PrinterLock(config.data_dir / WORKER_LOCK_NAME)
    assert running_till.acquire(0)
    till_printer = FakePrinter()
    till_worker = PrintQueue(config, Printer(till_printer, status_timeout_s=0.05))
    thread = threading.Timer(0.5, lambda: till_worker.run_once(lock_timeout_s=2))
    thread.start()
    result = queue.print_sale(sale.uuid, wait_s=4)
    thread.join()
    till_worker.close()
    running_till.release()
    assert result.state == "printed"
    assert job_rows(config.db_path, sale.uuid) == [("receipt", "printed", 3)]  # sell's 2 tries, the till's
    assert fake.receipts() == [] and till_printer.receipts() == [(sale.receipt, False)]


def test_worker_reports_a_fault_within_two_seconds_and_resumes(config, till, fake):
    """The till's worker thread: a new sale prints within a round; paper out shows on the
    status line within 2 s; receipts wait meanwhile and print by themselves after the reload."""
    changes: list = []
    queue = PrintQueue(config, Printer(fake, status_timeout_s=0.05))
    worker = PrintWorker(queue, poll_s=1.0, on_change=changes.append)
    assert not worker_running(config.data_dir)
    worker.start()
    try:
        assert worker_running(config.data_dir)  # `tui-pos sell` knows a till will print for it
        first = sell(till)
        worker.wake()
        wait_for(lambda: receipt_state(config.db_path, first.uuid) == "printed", 2.0)
        fake.paper = "out"
        fault_at = time.monotonic()
        wait_for(lambda: worker.state.status.state == "paper_out", 2.0)
        assert time.monotonic() - fault_at < 2.0
        second = sell(till)
        worker.wake()
        wait_for(lambda: worker.state.unprinted == 1, 2.0)
        assert receipt_state(config.db_path, second.uuid) == "pending"
        fake.paper = "ok"
        wait_for(lambda: receipt_state(config.db_path, second.uuid) == "printed", 2.5)
        wait_for(lambda: worker.state.unprinted == 0 and worker.state.status.state == "ready", 2.5)
    finally:
        worker.stop()
    assert fake.receipts() == [(first.receipt, False), (second.receipt, False)]
    assert {c.status.state for c in changes} >= {"ready", "paper_out"}
    assert not worker_running(config.data_dir)


def test_no_sale_opens_the_drawer_alone_even_without_paper(queue, fake):
    """A manager-approved "no sale": only the drawer pulse goes out, paper or not; an absent
    printer is reported, not hidden."""
    fake.paper = "out"
    assert queue.open_drawer() == (True, "")
    job = decode(bytes(fake.received))
    assert job.kinds("drawer") == [("drawer", 0, 50, 50)] and job.texts == []
    fake.present = False
    done, why = queue.open_drawer()
    assert not done and "unplugged" in why


def wait_for(condition, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"not within {timeout_s} s"
        time.sleep(0.02)
