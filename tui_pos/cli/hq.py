"""The chain's HQ (a PostgreSQL database) from the command line: `tui-pos hq init|shop add|join|tills|
sales|report|verify`, and what HQ manages for every till: `hq catalog|user|tax|settings`; a shop's
stock: `hq stock`, `hq report anomalies|reorder`, `hq transfers`, and `hq alerts` (issue 14).

Which HQ: the DSN given (init and join take it as their argument), else --dsn, else
$TUI_POS_HQ_DSN, else the one of the till it runs on ([hq] in config.toml). psycopg is loaded only
here, when an hq command runs (tui_pos.hq imports it lazily).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import click

from tui_pos.cli import reconcile as payments_cli
from tui_pos.cli.base import WholeNumber, emit, json_option, main, shop_config, speak_shop_language
from tui_pos.cli.report import ANOMALY_HEADER, _emit_table, csv_option, emit_reorder
from tui_pos.cli.stock import level_line
from tui_pos.cli.user import ROLES, new_pin_option, role_option
from tui_pos.config import CONFIG_NAME, load_config, resolve_data_dir
from tui_pos.domain.columns import pad
from tui_pos.domain.errors import BadInput
from tui_pos.domain.money import Currency
from tui_pos.domain.shift import SALE_KIND_WORDS
from tui_pos.domain.stock import format_qty
from tui_pos.i18n import N_, _, message, pgettext

COLUMNS = {  # a table's column headings
    "alerts": N_("alerts"), "completed (UTC)": N_("completed (UTC)"), "kind": N_("kind"),
    "last seen": N_("last seen"), "net": N_("net"), "never": N_("never"), "receipt": N_("receipt"),
    "records": N_("records"), "refunds": N_("refunds"), "sales": N_("sales"), "shop": N_("shop"),
    "state": N_("state"), "takings": N_("takings"), "tenders": N_("tenders"), "tenders (net)": N_("tenders (net)"),
    "till": N_("till"), "total": N_("total"), "voids": N_("voids"), "waiting": N_("waiting"),
}

T = TypeVar("T")

dsn_option = click.option("--dsn", default=None, metavar="DSN",
                          help="HQ's PostgreSQL DSN (default: $TUI_POS_HQ_DSN, else this till's [hq] dsn).")


def hq_dsn(ctx: click.Context, given: str | None) -> str:
    """--dsn, else $TUI_POS_HQ_DSN, else this till's; BadInput (one line) when there is none."""
    from tui_pos.hq.connection import DSN_ENV

    if given:
        return given
    if os.environ.get(DSN_ENV):
        return os.environ[DSN_ENV]
    data_dir = ctx.obj if ctx.obj is not None else resolve_data_dir(None)
    if (data_dir / CONFIG_NAME).exists():
        from tui_pos.hq.enrol import till_dsn

        dsn = till_dsn(shop_config(ctx))
        if dsn:
            return dsn
    raise BadInput(N_("which HQ? give --dsn DSN, set {env}, or run it on a till that has joined one (tui-pos hq join)"),
                   env=DSN_ENV)


@contextmanager
def hq_connection(dsn: str) -> Iterator[Any]:
    """A connection to HQ; database errors in the block are one line (HqError)."""
    from tui_pos.hq.connection import connect, translated

    with connect(dsn) as conn, translated(dsn):
        yield conn


def at_hq(ctx: click.Context, dsn: str | None, work: Callable[[Any], T]) -> T:
    """work(a connection to the HQ --dsn names, else $TUI_POS_HQ_DSN, else this till's): its answer."""
    with hq_connection(hq_dsn(ctx, dsn)) as conn:
        return work(conn)


@main.group()
@click.pass_context
def hq(ctx: click.Context) -> None:
    """The chain's HQ: PostgreSQL, shared by every till of every shop (preview)."""
    speak_shop_language(ctx)  # on a till, its language; elsewhere the system's


@hq.command("init")
@click.argument("dsn", metavar="DSN")
@json_option
def hq_init(dsn: str, as_json: bool) -> None:
    """Create or migrate HQ's schema in the database DSN names (idempotent). Needs the database's owner
    with CREATEROLE, or a superuser."""
    from tui_pos.hq.connection import describe
    from tui_pos.hq.schema import MIGRATIONS, migrate

    with hq_connection(dsn) as conn:
        version, done = migrate(conn)
    data = {"hq": describe(dsn), "version": version, "applied": done,
            "migrations": [{"version": m.version, "name": m.name} for m in MIGRATIONS]}
    emit(as_json, data, lambda: (_("HQ {hq}: schema version {version} (applied: {applied})") if done else
                                 _("HQ {hq}: schema version {version} (up to date)")).format(
        hq=data["hq"], version=version, applied="; ".join(done)))


@hq.group("shop")
def hq_shop() -> None:
    """The chain's shops."""


@hq_shop.command("add")
@click.argument("shop")
@click.option("--name", default=None, help="The shop's name (default: none).")
@dsn_option
@json_option
@click.pass_context
def hq_shop_add(ctx: click.Context, shop: str, name: str | None, dsn: str | None, as_json: bool) -> None:
    """Add the shop SHOP (an id: letters, digits, _ or -) to HQ; adding it again changes nothing."""
    from tui_pos.hq.chain import add_shop, check_shop_id

    check_shop_id(shop)
    target = hq_dsn(ctx, dsn)
    with hq_connection(target) as conn:
        data = add_shop(conn, shop, name)
    emit(as_json, data, lambda: ({(True, True): _("Shop {shop} added: {name}"), (True, False): _("Shop {shop} added"),
                                  (False, True): _("Shop {shop} is at HQ already: {name}"),
                                  (False, False): _("Shop {shop} is at HQ already")}[bool(data["added"]), bool(data["name"])]
                                 ).format(shop=shop, name=data["name"]))


@hq.command("join")
@click.argument("dsn", metavar="DSN")
@click.option("--shop", required=True, help="The shop this till belongs to (tui-pos hq shop add SHOP first).")
@click.option("--till", "till_id", default=None, metavar="ID", help="This till's id (default: [till] id).")
@json_option
@click.pass_context
def hq_join(ctx: click.Context, dsn: str, shop: str, till_id: str | None, as_json: bool) -> None:
    """Enrol this till at HQ (DSN: an HQ administrator's): it gets a role of its own, that may only add
    its own records; [hq] goes in config.toml, its password in hq/secret.json (0600). A till id
    another box enrolled is refused."""
    from tui_pos.hq.enrol import join

    data = join(shop_config(ctx), dsn, shop, till_id)
    emit(as_json, data, lambda: (
        _("Till {till} joined shop {shop} at HQ again as {role}; HQ has its records up to commit {high_water}. [hq] is in "
          "{config}, the password in {secret}.") if data["rejoined"] else
        _("Till {till} joined shop {shop} at HQ as {role}; HQ has its records up to commit {high_water}. [hq] is in "
          "{config}, the password in {secret}.")).format(**data))


TILL_STATES = {"ok": N_("ok"), "alert": N_("alert"), "stale": N_("stale"), "never": N_("never")}


def _tills_text(tills: list[dict[str, Any]]) -> str:
    if not tills:
        return _("No till has joined HQ yet (tui-pos hq join DSN --shop SHOP, on each till).")
    header = (f"{pad(_(COLUMNS['shop']), 10)} {pad(_(COLUMNS['till']), 8)} {pad(_(COLUMNS['state']), 6)} {pad(_(COLUMNS['last seen']), 25)} "
              f"{pad(_(COLUMNS['records']), 8, '>')} {pad(_(COLUMNS['waiting']), 8, '>')}  {_(COLUMNS['alerts'])}")
    lines = [f"{pad(t['shop'], 10)} {pad(t['till'], 8)} {pad(_(TILL_STATES.get(t['state'], t['state'])), 6)} "
             f"{pad(t['last_seen'] or _(COLUMNS['never']), 25)} {t['records']:>8} "
             f"{'?' if t['pending'] is None else t['pending']:>8}  {'; '.join(t['alerts'])}".rstrip() for t in tills]
    return "\n".join([header, *lines])


@hq.command("tills")
@click.option("--stale-minutes", type=WholeNumber(1, 10**6), default=10, show_default=True, metavar="N",
              help="A till not heard from for more than N minutes is stale: an alert.")
@dsn_option
@json_option
@click.pass_context
def hq_tills(ctx: click.Context, stale_minutes: int, dsn: str | None, as_json: bool) -> None:
    """Every till of the chain: its shop, state (ok, alert, stale, never), when HQ last heard from it,
    the records it has sent, those it said were still waiting ('?' until it has said), and its alerts
    (from the status it last sent, and HQ's own when it has not been seen for a while)."""
    from tui_pos.hq.chain import list_tills

    tills = at_hq(ctx, dsn, lambda conn: list_tills(conn, stale_minutes))
    emit(as_json, tills, lambda: _tills_text(tills))


def _currency(ctx: click.Context, conn: Any) -> Currency:
    """The currency the amounts are shown in: HQ's (the chain's), else (a till's login may not read
    it) this till's, else the default one."""
    from tui_pos.hq.reports import chain_currency_if_readable

    chain = chain_currency_if_readable(conn)
    if chain is not None:
        return chain
    data_dir = ctx.obj if ctx.obj is not None else resolve_data_dir(None)
    if (data_dir / CONFIG_NAME).exists():
        from tui_pos.app.context import currency_of

        return currency_of(shop_config(ctx))
    return Currency()


def period_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--day or --from/--to (the local days of this machine), and --shop/--till to narrow it."""
    for option in reversed((
            click.option("--day", metavar="YYYY-MM-DD", help="One day (the default: today)."),
            click.option("--from", "first", metavar="YYYY-MM-DD", help="The first day of a period."),
            click.option("--to", "last", metavar="YYYY-MM-DD", help="The last day of the period (default: today)."),
            click.option("--shop", default=None, help="Only this shop (default: every shop)."),
            click.option("--till", "till_id", default=None, metavar="ID", help="Only this till (default: every till)."))):
        command = option(command)
    return command


@hq.command("sales")
@period_options
@dsn_option
@json_option
@click.pass_context
def hq_sales(ctx: click.Context, day: str | None, first: str | None, last: str | None, shop: str | None,
             till_id: str | None, dsn: str | None, as_json: bool) -> None:
    """Every sale, refund and void the tills have sent to HQ for a day or a period, oldest first:
    receipt, shop, till, kind, time, cashier, total and tenders."""
    from tui_pos.domain.reports import period
    from tui_pos.hq.reports import sales

    first_day, last_day = period(day=day, first=first, last=last)
    with hq_connection(hq_dsn(ctx, dsn)) as conn:
        rows = sales(conn, first_day, last_day, shop, till_id)
        fmt = _currency(ctx, conn).format
    data = [{**row, **{k: None if row[k] is None else fmt(row[k]) for k in ("total", "paid", "change")},
             "tenders": [{"kind": t["kind"], "amount": None if t["amount"] is None else fmt(t["amount"])}
                         for t in row["tenders"]]} for row in rows]
    emit(as_json, data, lambda: _sales_text(data, first_day, last_day))




def _period_text(first_day: str, last_day: str) -> str:
    return first_day if last_day == first_day else _("{first} to {last}").format(first=first_day, last=last_day)


def _tender_text(kind: str, amount: Any) -> str:
    from tui_pos.domain.tender import TENDER_WORDS

    return _("{kind} {amount}").format(kind=_(TENDER_WORDS.get(kind, kind)), amount=amount)


def _sales_text(rows: list[dict[str, Any]], first_day: date, last_day: date) -> str:
    when = _period_text(first_day.isoformat(), last_day.isoformat())
    if not rows:
        return _("No sales at HQ for {when}.").format(when=when)
    lines = [_("{n} sales, refunds and voids at HQ for {when}").format(n=len(rows), when=when),
             f"{pad(_(COLUMNS['completed (UTC)']), 20)} {pad(_(COLUMNS['shop']), 10)} {pad(_(COLUMNS['till']), 6)} {pad(_(COLUMNS['receipt']), 14)} "
             f"{pad(_(COLUMNS['kind']), 7)} {pad(_(COLUMNS['total']), 12, '>')}  {_(COLUMNS['tenders'])}"]
    for r in rows:
        tenders = ", ".join(_tender_text(t["kind"], t["amount"]) for t in r["tenders"])
        lines.append(f"{(r['completed_at'] or '')[:19]:<20} {pad(r['shop'], 10)} {pad(r['till'], 6)} "
                     f"{pad(r['receipt'] or '?', 14)} {pad(_(SALE_KIND_WORDS.get(r['kind'], r['kind'])), 7)} "
                     f"{r['total'] or '':>12}  {tenders}")
    return "\n".join(lines)


@hq.group("report", invoke_without_command=True)
@period_options
@dsn_option
@json_option
@click.pass_context
def hq_report(ctx: click.Context, day: str | None, first: str | None, last: str | None, shop: str | None,
              till_id: str | None, dsn: str | None, as_json: bool) -> None:
    """Takings of a day or a period for the chain, by shop and by till (sales, refunds, voids, net,
    tenders; with --json also taxes, top products and hours, as 'tui-pos report sales' has them),
    and every till's Z reports taken in it. A shop's stock reports: hq report anomalies|reorder."""
    if ctx.invoked_subcommand is not None:
        return
    from tui_pos.domain.reports import period, report_json
    from tui_pos.hq.reports import report

    first_day, last_day = period(day=day, first=first, last=last)
    with hq_connection(hq_dsn(ctx, dsn)) as conn:
        found = report(conn, first_day, last_day, shop, till_id)
        currency = _currency(ctx, conn)
    fmt = currency.format
    data = {"first_day": first_day.isoformat(), "last_day": last_day.isoformat(),
            "chain": report_json(found["chain"], currency),
            "shops": [{"shop": s["shop"], "name": s["name"], "report": report_json(s["report"], currency),
                       "tills": [{"till": t["till"], "report": report_json(t["report"], currency)} for t in s["tills"]]}
                      for s in found["shops"]],
            "z_reports": [{**z, **{k: None if z[k] is None else fmt(z[k])
                                   for k in ("net_sales", "expected", "counted", "difference")}}
                          for z in found["z_reports"]]}
    emit(as_json, data, lambda: _report_text(data))


def _takings_line(label: str, r: dict[str, Any]) -> str:
    tenders = ", ".join(_tender_text(t["kind"], t["net"]) for t in r["tenders"])
    return (f"{pad(label, 18)} {r['sales']['count']:>6} {r['sales']['total']:>12} {r['refunds']['total']:>11} "
            f"{r['voids']['total']:>11} {r['net']:>12}  {tenders}").rstrip()


def _report_text(data: dict[str, Any]) -> str:
    lines = [_("HQ report {when}").format(when=_period_text(data["first_day"], data["last_day"])), "",
             f"{'':<18} {pad(_(COLUMNS['sales']), 6, '>')} {pad(_(COLUMNS['takings']), 12, '>')} {pad(_(COLUMNS['refunds']), 11, '>')} "
             f"{pad(_(COLUMNS['voids']), 11, '>')} {pad(_(COLUMNS['net']), 12, '>')}  {_(COLUMNS['tenders (net)'])}",
             _takings_line(_("chain"), data["chain"])]
    for shop in data["shops"]:
        lines.append(_takings_line(_("shop {shop}").format(shop=shop["shop"]), shop["report"]))
        lines += [_takings_line("  " + _("till {till}").format(till=t["till"]), t["report"]) for t in shop["tills"]]
    lines += ["", _("Z reports") if data["z_reports"] else _("No Z report was taken.")]
    for z in data["z_reports"]:
        lines.append(f"  {pad(z['shop'], 10)} {pad(z['till'], 6)} Z{z['z_number']:<5} {(z['closed_at'] or '')[:19]:<20} "
                     + _("net {net}  expected {expected}  counted {counted}  difference {difference}").format(
                         net=f"{z['net_sales'] or '?':>12}", expected=f"{z['expected'] or '?':>10}",
                         counted=f"{z['counted'] or '?':>10}", difference=f"{z['difference'] or '?':>9}"))
    return "\n".join(lines)


@hq.command("verify")
@click.option("--shop", default=None, help="Only this shop's tills (default: every till).")
@dsn_option
@json_option
@click.pass_context
def hq_verify(ctx: click.Context, shop: str | None, dsn: str | None, as_json: bool) -> None:
    """Check every till's records at HQ: the commit numbers without a gap, the hash chain unbroken
    (recomputed from the records), and the receipt numbers without a gap or one used twice. Exits 1
    when a till's records are not whole."""
    from tui_pos.hq.verify import verify

    tills = at_hq(ctx, dsn, lambda conn: verify(conn, shop))
    emit(as_json, tills, lambda: _verify_text(tills))
    if not all(t["ok"] for t in tills):
        sys.exit(1)


def _verify_text(tills: list[dict[str, Any]]) -> str:
    if not tills:
        return _("No till has joined HQ yet.")
    lines = []
    for t in tills:
        problems = []
        if t["first_gap"] is not None:
            problems.append(_("commit {commit} missing").format(commit=t["first_gap"]))
        if t["first_break"] is not None:
            problems.append(_("the hash chain breaks at commit {commit} ({n} break(s))").format(
                commit=t["first_break"], n=t["breaks"]))
        if t["last_commit"] != t["high_water"]:
            problems.append(_("records up to commit {last}, HQ's mark says {mark}").format(
                last=t["last_commit"], mark=t["high_water"]))
        if t["receipt_gaps"]:
            shown = ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in t["receipt_gaps"])
            problems.append(_("{n} receipt numbers missing ({numbers})").format(n=t["receipts_missing"], numbers=shown))
        if t["receipts_twice"]:
            problems.append(_("receipt numbers used twice: {numbers}").format(
                numbers=", ".join(map(str, t["receipts_twice"]))))
        values = {"shop": t["shop"], "till": t["till"], "n": t["records"], "unchained": t["unchained"],
                  "problems": _("; ").join(problems) if problems else pgettext("state", "OK")}
        lines.append((_("{shop} {till}: {n} records ({unchained} pushed without hashes: not checked), {problems}")
                      if t["unchained"] else _("{shop} {till}: {n} records, {problems}")).format(**values))
    return "\n".join(lines)


@hq.group("catalog")
def hq_catalog() -> None:
    """The chain's products: every till pulls them (a shop's own prices win at its tills)."""


@hq_catalog.command("import")
@click.argument("csv_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--shop", default=None, help="Import as this shop's own products and prices, over the chain's "
                                           "(default: the chain's, for every shop).")
@dsn_option
@json_option
@click.pass_context
def hq_catalog_import(ctx: click.Context, csv_file: Path, shop: str | None, dsn: str | None, as_json: bool) -> None:
    """Import FILE.csv, the till's CSV (barcode,name,price,tax[,department,stock]; checked by the till's
    rules against HQ's tax rates, every bad line named): all lines or none. HQ keeps no stock."""
    from tui_pos.bootstrap.shop import read_catalog_file
    from tui_pos.hq.catalog import import_catalog

    text = read_catalog_file(csv_file)
    data = at_hq(ctx, dsn, lambda conn: import_catalog(conn, text, shop))
    emit(as_json, data, lambda: (
        _("Imported {products} products for shop {shop}: {added} added, {changed} changed, {unchanged} unchanged "
          "(catalog version {version})") if shop else
        _("Imported {products} products for the chain: {added} added, {changed} changed, {unchanged} unchanged "
          "(catalog version {version})")).format(**{**data, "shop": shop}))


@hq.group("user")
def hq_user() -> None:
    """The chain's users: one name, PIN and switch for every till (tills pull them)."""


def _user_change(ctx: click.Context, dsn: str | None, as_json: bool, change: Callable[[Any], dict[str, Any]],
                 done: str) -> None:
    data = at_hq(ctx, dsn, change)
    emit(as_json, data, lambda: _(done).format(**{**data, "role": _(ROLES.get(data.get("role", ""), data.get("role", "")))}))


@hq_user.command("list")
@dsn_option
@json_option
@click.pass_context
def hq_user_list(ctx: click.Context, dsn: str | None, as_json: bool) -> None:
    """Every user of the chain, with role and whether they can log in."""
    from tui_pos.hq.people import list_users

    found = at_hq(ctx, dsn, list_users)
    emit(as_json, found, lambda: "\n".join(f"{pad(p['name'], 16)} {_(ROLES.get(p['role'], p['role']))}"
                                           + ("" if p["active"] else "  " + _("(disabled)")) for p in found)
         or _("No users at HQ."))


@hq_user.command("add")
@click.argument("name")
@role_option
@new_pin_option("The new user's PIN")
@dsn_option
@json_option
@click.pass_context
def hq_user_add(ctx: click.Context, name: str, role: str, new_pin: str | None, dsn: str | None, as_json: bool) -> None:
    """Add a cashier or a manager to every till of the chain."""
    from tui_pos.cli.user import ask_new_pin
    from tui_pos.hq.people import add_user

    pin = ask_new_pin(name, new_pin)
    _user_change(ctx, dsn, as_json, lambda conn: add_user(conn, name, role, pin),
                 N_("Added {role} {name} (catalog version {version})"))


@hq_user.command("set-pin")
@click.argument("name")
@new_pin_option("The new PIN")
@dsn_option
@json_option
@click.pass_context
def hq_user_set_pin(ctx: click.Context, name: str, new_pin: str | None, dsn: str | None, as_json: bool) -> None:
    """Give NAME a new PIN at every till."""
    from tui_pos.cli.user import ask_new_pin
    from tui_pos.hq.people import set_pin

    pin = ask_new_pin(name, new_pin)
    _user_change(ctx, dsn, as_json, lambda conn: set_pin(conn, name, pin),
                 N_("New PIN set for {name} (catalog version {version})"))


def _hq_set_active_command(active: bool, help_text: str) -> None:
    """Register `hq user enable` or `hq user disable`."""

    @hq_user.command("enable" if active else "disable", help=help_text)
    @click.argument("name")
    @dsn_option
    @json_option
    @click.pass_context
    def command(ctx: click.Context, name: str, dsn: str | None, as_json: bool) -> None:
        from tui_pos.hq.people import set_active

        _user_change(ctx, dsn, as_json, lambda conn: set_active(conn, name, active),
                     N_("{name} enabled at every till (catalog version {version})") if active else
                     N_("{name} disabled at every till (catalog version {version})"))


_hq_set_active_command(False, "NAME can no longer log in at any till (the chain's last active manager stays).")
_hq_set_active_command(True, "NAME can log in again at every till.")


@hq.group("tax")
def hq_tax() -> None:
    """The chain's tax rates: every till takes them at its next pull, over its [tax] rates."""


@hq_tax.command("set")
@click.argument("code")
@click.argument("percent")
@dsn_option
@json_option
@click.pass_context
def hq_tax_set(ctx: click.Context, code: str, percent: str, dsn: str | None, as_json: bool) -> None:
    """Set the tax rate CODE (e.g. A) to PERCENT (e.g. 13) at every till."""
    from tui_pos.hq.settings import set_tax_rate

    data = at_hq(ctx, dsn, lambda conn: set_tax_rate(conn, code, percent))
    emit(as_json, data, lambda: _("Tax rate {code} is {rate} (catalog version {version})").format(**data))


@hq.group("settings")
def hq_settings() -> None:
    """The chain's limits and reason codes: every till takes them at its next pull, over its config.toml."""


@hq_settings.command("set")
@click.argument("key")
@click.argument("values", nargs=-1, required=True)
@dsn_option
@json_option
@click.pass_context
def hq_settings_set(ctx: click.Context, key: str, values: tuple[str, ...], dsn: str | None, as_json: bool) -> None:
    """Set KEY at every till: discount_limit PERCENT, paid_out_limit AMOUNT, z_difference_limit AMOUNT, or
    reasons.KIND REASON... (KIND: refund, void, discount, price_override, no_sale, delete_held)."""
    from tui_pos.hq.settings import set_setting

    data = at_hq(ctx, dsn, lambda conn: set_setting(conn, key, values))
    emit(as_json, data, lambda: _("{key} = {value} (catalog version {version})").format(**data))


@hq_settings.command("list")
@dsn_option
@json_option
@click.pass_context
def hq_settings_list(ctx: click.Context, dsn: str | None, as_json: bool) -> None:
    """The chain's tax rates and settings, and its catalog version."""
    from tui_pos.hq.settings import list_settings

    data = at_hq(ctx, dsn, list_settings)
    emit(as_json, data, lambda: "\n".join(
        [_("tax {code} = {rate}").format(code=code, rate=rate) for code, rate in data["tax_rates"].items()]
        + [f"{key} = {value}" for key, value in data["settings"].items()]
        + [_("catalog version {version}").format(version=data["version"])]))


@hq.command("restore-till")
@click.argument("till_id", metavar="TILL")
@click.option("--data-dir", "target", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The new box's data directory: new, or empty of records (made if missing).")
@dsn_option
@json_option
@click.pass_context
def hq_restore_till(ctx: click.Context, till_id: str, target: Path, dsn: str | None, as_json: bool) -> None:
    """Rebuild till TILL on this box from HQ (an administrator's DSN): every record HQ holds of it,
    in its commit order, into a new database in --data-dir; receipt, shift and Z numbers continue
    after them. Then this box takes the till id over at HQ (a new password: the old box can no
    longer send) and pulls the chain's catalog, users and settings."""
    from tui_pos.bootstrap.restore_till import restore_till

    data = restore_till(hq_dsn(ctx, dsn), till_id, target.absolute())
    catalog = data["catalog"]
    emit(as_json, data, lambda: " ".join([
        _("Till {till} (shop {shop}) restored from HQ into {data_dir}: {records} records, up to commit {high_water}.")
        .format(**data),
        _("The chain's catalog (version {version}: {products} products, {users} user changes) is in.").format(**catalog)
        if "error" not in catalog else
        _("The chain's catalog is not in yet ({error}): the next sync pulls it.").format(**catalog),
        _("This box is till {till} at HQ now ([hq] in {config}); start the till there (tui-pos --data-dir {data_dir}).")
        .format(**data)]))


@hq.group("payments")
def hq_payments() -> None:
    """The chain's code payments (Alipay, WeChat Pay), as the tills pushed them."""


@hq_payments.command("reconcile")
@payments_cli.statement_argument
@click.option("--shop", required=True, help="The shop whose statement FILE is (its merchant account's).")
@payments_cli.provider_option
@payments_cli.day_option
@payments_cli.csv_option
@dsn_option
@json_option
@click.pass_context
def hq_payments_reconcile(ctx: click.Context, statement_file: Path, shop: str, provider: str | None, day: str | None,
                          csv_file: str | None, dsn: str | None, as_json: bool) -> None:
    """Reconcile a provider's daily statement FILE (Alipay's business detail 业务明细 .csv, or WeChat
    Pay's trade bill 交易账单 .csv) with every till of the shop: charged but no sale, sale not charged,
    amounts that differ, refunds likewise. Exits 1 when anything does not match."""
    from tui_pos.domain.reconcile import reconcile, till_payments
    from tui_pos.hq.payments import payment_records

    statement = payments_cli.read_statement_file(statement_file, provider, day)
    with hq_connection(hq_dsn(ctx, dsn)) as conn:
        attempts, outcomes, sales = payment_records(
            conn, shop, statement.first_day, statement.last_day, [r.out_trade_no for r in statement.rows],
            [r.out_refund_no for r in statement.rows])
        currency = _currency(ctx, conn)
    result = reconcile(statement, till_payments(attempts, outcomes, sales))
    payments_cli.show_reconciliation(result, currency, as_json, csv_file, file=str(statement_file), shop=shop)


# -- stock at HQ (issue 14): a shop's stock, its stock reports, transfers, the chain's alerts -----------------
shop_option = click.option("--shop", required=True, help="The shop (its tills' stock summed).")


def _level(row: dict[str, Any]) -> Any:
    """HQ's row as the till's Level (one --json shape for a till's stock and a shop's)."""
    from tui_pos.app.stock import Level

    return Level(row["barcode"], row["name"], row["department"], row["weighed"], row["on_hand"], row["reorder_level"],
                 row["reorder_qty"], row["tracked"], row["last_moved"], row["in_transit"])


def _level_row(row: dict[str, Any], shop: str) -> dict[str, Any]:
    return {"shop": shop, **_level(row).to_dict(), "last_moved": row["last_moved"], "tills": row["tills"],
            "in_transit": format_qty(row["in_transit"]), "in_transit_out": format_qty(row["in_transit_out"])}


def _shop_level_line(row: dict[str, Any]) -> str:
    """A shop's stock line (the till's level_line) and its goods in transit, when there are any."""
    transit = [_("{qty} in transit to the shop").format(qty=row["in_transit"]) if row["in_transit"] != "0" else "",
               _("{qty} sent, not received yet").format(qty=row["in_transit_out"]) if row["in_transit_out"] != "0"
               else ""]
    return "  ".join([level_line(row), *filter(None, transit)])


@hq.command("stock")
@click.argument("code", required=False)
@shop_option
@click.option("--low", is_flag=True, help="Only products at or below their reorder level.")
@dsn_option
@json_option
@click.pass_context
def hq_stock(ctx: click.Context, code: str | None, shop: str, low: bool, dsn: str | None, as_json: bool) -> None:
    """A shop's stock on hand, summed over its tills (each till's last count + its movements since),
    of every product it tracks, or CODE's, or (--low) those at or below HQ's reorder level; and its
    goods in transit (sent by transfers not received yet: to the shop, and from it)."""
    from tui_pos.hq.stock import levels

    rows = at_hq(ctx, dsn, lambda conn: levels(conn, shop, [code] if code else None, low))
    data = [_level_row(r, shop) for r in rows]
    emit(as_json, data, lambda: "\n".join(_shop_level_line(r) for r in data) or (
        _("Nothing is low.") if low else _("No stock of shop {shop} has reached HQ yet.").format(shop=shop)))


def _thresholds(ctx: click.Context, currency: Any) -> Any:
    """[stock] of this machine's config.toml (the defaults without one), in the chain's currency."""
    from tui_pos.app.stock import stock_thresholds

    data_dir = ctx.obj if ctx.obj is not None else resolve_data_dir(None)
    return stock_thresholds(load_config(data_dir).stock, currency)


@hq_report.command("anomalies")
@shop_option
@click.option("--day", metavar="YYYY-MM-DD", help="One day (the default: today).")
@click.option("--from", "first", metavar="YYYY-MM-DD", help="The first day of a period.")
@click.option("--to", "last", metavar="YYYY-MM-DD", help="The last day of the period (default: today).")
@csv_option
@dsn_option
@json_option
@click.pass_context
def hq_report_anomalies(ctx: click.Context, shop: str, day: str | None, first: str | None, last: str | None,
                        csv_file: str | None, dsn: str | None, as_json: bool) -> None:
    """A shop's stock and operation-risk warnings of a day or a period, from every till's records,
    by the rules of 'tui-pos report anomalies' (thresholds: [stock]); and the transfers to or from
    it received with other quantities than were sent."""
    from tui_pos.domain.reports import period
    from tui_pos.hq.stock import anomalies

    first_day, last_day = period(day=day, first=first, last=last)
    with hq_connection(hq_dsn(ctx, dsn)) as conn:
        currency = _currency(ctx, conn)
        warnings = anomalies(conn, shop, first_day, last_day, _thresholds(ctx, currency), currency)
    rows = [w.to_dict() for w in warnings]
    _emit_table(as_json, csv_file, rows, ANOMALY_HEADER, (),
                lambda: "\n".join(f"{w.kind:<17} {message(w)}" for w in warnings) or _("No anomalies."))


@hq_report.command("reorder")
@shop_option
@csv_option
@dsn_option
@json_option
@click.pass_context
def hq_report_reorder(ctx: click.Context, shop: str, csv_file: str | None, dsn: str | None, as_json: bool) -> None:
    """What a shop should reorder: its products at or below HQ's reorder level, with what to order
    (the reorder quantity, or up to twice the level)."""
    from tui_pos.hq.stock import reorder

    found = at_hq(ctx, dsn, lambda conn: reorder(conn, shop))
    emit_reorder(as_json, csv_file, [_level(r) for r in found])


@hq.command("transfers")
@click.option("--shop", default=None, help="Only transfers from or to this shop (default: every shop).")
@click.option("--open", "open_only", is_flag=True, help="Only those not received yet.")
@dsn_option
@json_option
@click.pass_context
def hq_transfers(ctx: click.Context, shop: str | None, open_only: bool, dsn: str | None, as_json: bool) -> None:
    """Goods sent from one shop to another: open until the receiving shop takes them in; each
    product sent and received, and the variance (received - sent)."""
    from tui_pos.hq.stock import transfers

    found = at_hq(ctx, dsn, lambda conn: transfers(conn, shop, open_only))

    def qty(milli: int | None) -> str | None:
        return None if milli is None else format_qty(milli)

    data = [{**t, "lines": [{"barcode": line["barcode"], "sent": qty(line["sent"]), "received": qty(line["received"]),
                             "variance": qty(line["variance"])} for line in t["lines"]]} for t in found]
    emit(as_json, data, lambda: "\n".join(_transfer_text(t) for t in data) or _("No transfers."))


def _transfer_text(t: dict[str, Any]) -> str:
    head = (_("{transfer}: {from_shop} -> {to_shop}, sent {sent_at}, OPEN") if t["open"] else
            _("{transfer}: {from_shop} -> {to_shop}, sent {sent_at}, received {received_at}")).format(
        transfer=t["transfer"], from_shop=t["from_shop"], to_shop=t["to_shop"], sent_at=(t["sent_at"] or "?")[:16],
        received_at=(t["received_at"] or "?")[:16])
    if t["receipts"] > 1:
        head += "  " + _("RECEIVED {n} TIMES").format(n=t["receipts"])
    if not t["to_known"]:
        head += "  " + _("SHOP {shop} IS NOT AT HQ").format(shop=t["to_shop"])
    lines = [f"  {line['barcode']:<13} " + (_("sent {sent}").format(sent=line["sent"]) if t["open"] else _(
        "sent {sent}, received {received}, variance {variance}").format(**line)) for line in t["lines"]]
    return "\n".join([head, *lines])


@hq.command("alerts")
@click.option("--stale-minutes", type=click.IntRange(1), default=None,
              help="A till not seen for longer is an alert (default: 10).")
@click.option("--run-hook", is_flag=True, help="Hand each alert to this machine's [alerts] hook.")
@dsn_option
@json_option
@click.pass_context
def hq_alerts(ctx: click.Context, stale_minutes: int | None, run_hook: bool, dsn: str | None, as_json: bool) -> None:
    """What needs a person across the chain: every till's alerts (as 'hq tills' has them), each
    shop's low stock (its tills summed, HQ's reorder levels) and each open transfer to a shop HQ
    does not have."""
    from tui_pos.ops.hq_alerts import chain_alerts, dispatch

    found = at_hq(ctx, dsn, lambda conn: chain_alerts(conn, stale_minutes))
    if run_hook:
        data_dir = ctx.obj if ctx.obj is not None else resolve_data_dir(None)
        dispatch(load_config(data_dir), found)
    emit(as_json, [a.as_dict() for a in found], lambda: "\n".join(
        f"{a.level.upper():<7} {message(a)}\n        -> {_(a.hint)}" for a in found) or _("No alerts."))
