"""`tui-pos backup [DEST]`, `tui-pos backup verify FILE` and `tui-pos restore FILE`: online backups,
verified before they are kept, and the manager's restore (the whole disaster recovery on a new box)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from tui_pos.cli.base import emit, json_option, main, shop_config, speak_shop_language
from tui_pos.i18n import _, message


class _BackupGroup(click.Group):
    """`backup DEST` and `backup verify FILE`: a first word that is no subcommand is the destination."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if args and not args[0].startswith("-") and args[0] not in self.commands:
            args = ["--to", *args]
        return super().parse_args(ctx, args)


@main.group(cls=_BackupGroup, invoke_without_command=True)
@click.option("--to", "destination", type=click.Path(file_okay=False, path_type=Path, resolve_path=True), metavar="DEST",
              help="Back up to this directory instead of [backup] destinations (also: tui-pos backup DEST).")
@json_option
@click.pass_context
def backup(ctx: click.Context, destination: Path | None, as_json: bool) -> None:
    """Back up the database (and journal files not yet replayed) while the till sells, then verify the copy."""
    if ctx.invoked_subcommand is not None:
        return
    from tui_pos.ops.backup import run_backup

    result = run_backup(shop_config(ctx), destination)
    emit(as_json, result.as_dict(), lambda: "\n".join(
        [_("Backed up {sales} sales and {files} journal file(s)").format(sales=result.sales, files=result.journal_files)
         if result.ok else _("BACKUP FAILED")]
        + ([f"  {message(result.error)}"] if result.error else [])
        + ["  " + ((_("{path} verified; removed {n} old") if c.removed else _("{path} verified")).format(
            path=c.path, n=len(c.removed)) if c.ok else f"{c.destination}: {message(c.error)}") for c in result.copies]
        + ["  " + _("warning: {what}").format(what=message(w)) for w in result.warnings]))
    if not result.ok:
        sys.exit(1)


@backup.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
@click.pass_context
def backup_verify(ctx: click.Context, file: Path, as_json: bool) -> None:
    """Check a backup: integrity, sale count and totals, row digest, journal lines. Exit 1 if it fails."""
    from tui_pos.ops.backup import verify_backup

    speak_shop_language(ctx)
    checked = verify_backup(file)
    emit(as_json, checked.as_dict(), lambda: (
        _("{file}: OK - {sales} sales, {files} journal file(s), made {made}").format(
            file=file, sales=checked.sales, files=checked.journal_files, made=checked.created_at)
        if checked.ok else "\n".join([_("{file}: DOES NOT VERIFY").format(file=file),
                                      *(f"  {message(p)}" for p in checked.problems)]))
        + "".join("\n" + "  " + _("warning: {what}").format(what=message(w)) for w in checked.warnings))
    if not checked.ok:
        sys.exit(1)


@main.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--manager", required=True, help="The manager who restores it (audited); the PIN is asked for.")
@click.option("--pin", help="The manager's PIN (for scripts; otherwise asked for without echo).")
@click.option("--force", "reason", metavar="REASON",
              help="Restore even a backup that rolls back records that cannot be brought back, or whose audit chain "
                   "differs from this till's: the reason is audited.")
@json_option
@click.pass_context
def restore(ctx: click.Context, file: Path, manager: str, pin: str | None, reason: str | None, as_json: bool) -> None:
    """Replace the database with a verified backup (a manager's operation; the till must be stopped; the
    current database is kept aside). On an empty data directory it is the whole disaster recovery."""
    from tui_pos.ops.backup import restore as restore_backup

    speak_shop_language(ctx)
    if pin is None:
        from tui_pos.cli.signin import pin_for

        pin = pin_for(manager)  # asked for without echo; scripts: $TUI_POS_USER and $TUI_POS_PIN
    result = restore_backup(ctx.obj, file, manager=manager, pin=pin, force=reason)
    emit(as_json, result.as_dict(), lambda: "\n".join(line for line in
        [_("Restored {file} ({sales} sales, made {made}) by {manager}").format(
            file=file, sales=result.backup.sales, made=result.backup.created_at, manager=result.manager),
         _("config.toml and the journal key came from the backup.") if result.config_restored else "",
         _("The database as it was: {path}").format(path=result.safety_copy) if result.safety_copy
         else _("There was no database before."),
         _("{n} journal file(s) put back: run 'tui-pos replay'").format(n=len(result.journal_files))
         if result.journal_files else ""]
        + ([_("Brought back {n} record(s) the backup lacked, from the database it replaced").format(
            n=len(result.brought_back))] if result.brought_back else [])
        + ([_("ROLLED BACK {n} audit entries (forced: {reason})").format(n=result.rolled_back, reason=result.forced)]
           if result.rolled_back else [])
        + ([_("NOT in the backup: {n} sale(s) of the old database, e.g. {receipts} (kept in the safety copy)").format(
            n=len(result.not_in_backup), receipts=", ".join(result.not_in_backup[:5]))] if result.not_in_backup else [])
        if line))
