"""The translations: every message marked in the code has its zh_CN translation, and what a person
reads is marked (a message shown without _() is caught here, not by a shop in Shanghai)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import tui_pos
from tui_pos import i18n
from tui_pos.i18n import LANGUAGES, SOURCE_LANGUAGE, catalog_path, resolve, system_language, translator

PACKAGE = Path(tui_pos.__file__).parent
PLACEHOLDER = re.compile(r"\{[^{}]*\}")


Key = tuple[tuple[str, ...], "str | None"]  # (msgid, or msgid and plural), context


def extracted() -> dict[Key, list[str]]:
    """Every marked message in tui_pos (Babel, as `make messages` extracts it) -> where it is."""
    found: dict[Key, list[str]] = {}
    for filename, line, message, _comments, context in extract_from_dir(str(PACKAGE)):
        ids = (message,) if isinstance(message, str) else tuple(message)
        found.setdefault((ids, context), []).append(f"tui_pos/{filename}:{line}")
    return found


@pytest.fixture(scope="module")
def messages():
    return extracted()


def catalog(language: str):
    with catalog_path(language).open("rb") as po:
        return read_po(po, locale=language)


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE])
def test_every_marked_message_is_translated(messages, language):
    """A message marked in the code but missing from the catalog, left empty or fuzzy (an unsure
    guess the till would show in English) fails, with where it is; so does a translation that
    loses or invents a {placeholder} (the value would vanish, or .format() would raise)."""
    po = catalog(language)
    problems = []
    for (ids, context), where in sorted(messages.items(), key=lambda item: str(item[0])):
        entry = po.get(ids[0], context=context)
        named = f"{ids[0]!r}" + (f" (context {context})" if context else "")
        if entry is None:
            problems.append(f"not in the {language} catalog (run make messages): {named} at {where[0]}")
            continue
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        if entry.fuzzy or not all(strings):
            problems.append(f"not translated to {language}: {named} at {where[0]}")
            continue
        wanted = set(PLACEHOLDER.findall(ids[-1])) | set(PLACEHOLDER.findall(ids[0]))
        for string in strings:
            if set(PLACEHOLDER.findall(string)) != wanted:
                problems.append(f"{language} translation of {named} has placeholders "
                                f"{sorted(PLACEHOLDER.findall(string))}, the message {sorted(wanted)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE])
def test_the_catalog_has_no_message_the_code_no_longer_uses(messages, language):
    used = {(ids[0], context) for ids, context in messages}
    stale = sorted(str(entry.id) for entry in catalog(language)
                   if entry.id and ((entry.id if isinstance(entry.id, str) else entry.id[0]), entry.context) not in used)
    assert not stale, f"in the {language} catalog but not in the code (run make messages): {stale}"


# -- what is shown must be marked ----------------------------------------------------------------
# Calls whose text arguments a person reads, per layer: a literal with a word in it passed to one of
# these, not wrapped in _() (or N_() where declared), is a message the catalog never sees.
ERRORS = {"PosError", "BadInput", "BadLines", "StorageError", "RestoreRefused", "HqError", "CartError", "TenderError",
          "ShiftError", "Said"}
SINKS = {
    "ui": {"say", "Label", "Static", "AskScreen", "ConfirmScreen", "ManagerScreen", "ReasonScreen", "notify",
           "EntryLine", "FieldInput", "show", "update", "append", "add_column", "add_row", "assemble", "Text",
           "Option", "HelpScreen"} | ERRORS,
    # the CLI's human output (emit's text, echo, fail) and errors; support's checks and problems
    "cli": {"echo", "fail", "emit", "secho"} | ERRORS,
    "ops": {"Check", "Problem", "BackupResult", "BackupCopy", "Verification"} | ERRORS,
    # HQ's, set-up's and sync's refusals (hq commands, init, restore-till, sync)
    "hq": ERRORS | {"HqUnreachable"},
    "bootstrap": ERRORS,
    "sync": ERRORS | {"HqUnreachable"},
    # the storage's refusals; audit verify's problems; why a journal line is set aside (kept in the quarantine)
    "store": ERRORS | {"Problem", "BadJournalLine", "BadLine", "Break"},
    # the core's refusals: what the till and every command say when they refuse
    "domain": ERRORS,
    "app": ERRORS,
    "printing": ERRORS,
    "payments": ERRORS,
}
# Files whose words a person reads outside those calls: config.toml's problems (a kind raises ValueError
# with what is wrong; doctor, status and every command show it) and the audit's findings, returned in
# lists (what is appended is shown by audit verify, or kept in the anchor's notes).
FILE_SINKS = {
    "config.py": ERRORS | {"ConfigError", "EntryProblem", "ValueError", "_wrong"},
    "store/audit.py": ERRORS | {"append"},
    "store/commit_log.py": ERRORS | {"append"},
    "store/verification.py": ERRORS | {"Problem", "append"},
    "store/journal.py": ERRORS | {"BadJournalLine", "BadLine", "Break", "ValueError"},  # a line's problem
}
TEXT_KEYWORDS = {"placeholder", "title", "required", "message", "error", "detail", "fix"}
WORD = re.compile(r"[A-Za-z]{2,}")
MARKERS = {"_", "N_", "ngettext"}


def words_in(node: ast.AST) -> str:
    """The literal text of a string or f-string argument (its constant parts), "" for anything else."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return " ".join(part.value for part in node.values if isinstance(part, ast.Constant))
    if isinstance(node, ast.BinOp):
        return words_in(node.left) + " " + words_in(node.right)
    if isinstance(node, ast.IfExp):
        return words_in(node.body) + " " + words_in(node.orelse)
    if isinstance(node, ast.Tuple):  # ("cut", f"the chain ends at entry {n}"): a finding (an id) and its sentence
        return " ".join(words for words in map(words_in, node.elts) if not NOT_TEXT.fullmatch(words))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "format":
        return words_in(node.func.value)  # "Wrote {path}".format(path=p): the English is the receiver
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join" and node.args:
        lines = node.args[0]  # "\n".join(f"Wrote {p}" for p in paths): each line is shown
        if isinstance(lines, ast.GeneratorExp | ast.ListComp):
            return words_in(lines.elt)
        if isinstance(lines, ast.List | ast.Tuple):
            return " ".join(words_in(element) for element in lines.elts)
    return ""


def called_name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


# not words: an action or id ("quit"), a Rich style ("bold reverse")
NOT_TEXT = re.compile(r"[a-z_.]+|(?:bold|reverse|dim|italic|underline|red|white|black|yellow|on|\s)+")


def is_text(node: ast.AST) -> bool:
    text = words_in(node)
    return bool(WORD.search(text)) and not NOT_TEXT.fullmatch(text)


def unmarked(path: Path, sinks: set[str], root: Path = PACKAGE.parent) -> list[str]:
    found = []
    where = path.relative_to(root)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = called_name(node)
        if name == "Binding" and len(node.args) >= 3:  # its description shows in the key bar and help
            description = node.args[2]
            if is_text(description):
                found.append(f"{where}:{node.lineno}: Binding description not marked N_()")
            continue
        if name not in sinks:
            continue
        arguments = list(node.args) + [k.value for k in node.keywords if k.arg in TEXT_KEYWORDS]
        if name == "emit" and len(node.args) >= 3 and isinstance(node.args[2], ast.Lambda):  # the human text
            arguments = [node.args[2].body]
        for argument in arguments:
            if is_text(argument):
                found.append(f"{where}:{node.lineno}: {name}() shows "
                             f"{words_in(argument)[:50]!r} without _()")
    return found


def hidden_in_f_strings(path: Path, root: Path = PACKAGE.parent) -> list[str]:
    """_("...") inside an f-string's {}: it is translated at run time, but Babel never extracts it,
    so its msgid never reaches the catalog and the test above cannot see it missing."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.JoinedStr):
            for inner in ast.walk(node):
                if (isinstance(inner, ast.Call) and called_name(inner) in MARKERS and inner.args
                        and isinstance(inner.args[0], ast.Constant)):
                    found.append(f"{path.relative_to(root)}:{inner.lineno}: {called_name(inner)}({inner.args[0].value!r}) "
                                 "inside an f-string (Babel does not extract it: mark it outside, e.g. in a table of N_())")
    return found


def test_no_message_is_marked_where_babel_cannot_see_it():
    problems = [problem for path in sorted(PACKAGE.rglob("*.py")) for problem in hidden_in_f_strings(path)]
    assert not problems, "\n".join(problems)


def test_a_message_marked_inside_an_f_string_is_caught(tmp_path):
    code = tmp_path / "cli.py"
    code.write_text("print(f\"{_('shop'):<10} {n}\")\nprint(f\"{_(COLUMNS['shop'])}\")\n", encoding="utf-8")
    problems = hidden_in_f_strings(code, tmp_path)
    assert len(problems) == 1 and "'shop'" in problems[0], problems


def test_an_unmarked_line_of_cli_or_support_output_is_caught(tmp_path):
    code = tmp_path / "cli.py"
    code.write_text('emit(as_json, data, lambda: f"Backed up {n} sales")\n'
                    'emit(as_json, data, lambda: _("Backed up {n} sales").format(n=n))\n'
                    'Check("backup", "warn", "no backup yet", Said(N_("run it")))\n'
                    'raise BadInput(f"no shop in {d}")\n', encoding="utf-8")
    problems = unmarked(code, SINKS["cli"] | SINKS["ops"], tmp_path)
    assert len(problems) == 3 and "Backed up" in problems[0] and "no backup" in problems[1], problems


def test_an_unmarked_sentence_filled_in_by_format_or_joined_into_lines_is_caught(tmp_path):
    """English built with "...".format() or one line per item with "\\n".join() is as unmarked as an
    f-string; the marked forms of the same lines pass."""
    code = tmp_path / "cli.py"
    code.write_text('click.echo("Wrote {path}".format(path=p))\n'
                    'emit(as_json, data, lambda: "\\n".join(f"{p}: {n} record(s) waiting" for p, n in rows))\n'
                    'fail("; ".join(["no shop", why]))\n'
                    'click.echo(_("Wrote {path}").format(path=p))\n'
                    'emit(as_json, data, lambda: "\\n".join(_("{p}: {n} waiting").format(p=p, n=n) for p, n in rows))\n'
                    'fail("; ".join(message(p) for p in problems))\n', encoding="utf-8")
    problems = unmarked(code, SINKS["cli"], tmp_path)
    assert [problem.split(":")[1] for problem in problems] == ["1", "2", "3"], problems


@pytest.mark.parametrize("layer", sorted(SINKS))
def test_what_a_person_reads_is_marked_for_translation(layer):
    problems = [problem for path in sorted((PACKAGE / layer).rglob("*.py")) for problem in unmarked(path, SINKS[layer])]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("name", sorted(FILE_SINKS))
def test_what_config_and_the_audit_say_is_marked_for_translation(name):
    assert not unmarked(PACKAGE / name, FILE_SINKS[name]), "\n".join(unmarked(PACKAGE / name, FILE_SINKS[name]))


def test_an_unmarked_config_problem_or_audit_finding_is_caught(tmp_path):
    code = tmp_path / "config.py"
    code.write_text('raise ValueError(f"{value!r} must be at most {n} characters")\n'
                    'raise _wrong(value, "a string in quotes")\n'
                    'found.append(("cut", f"the chain ends at entry {seq}"))\n'
                    'raise ValueError(Said(N_("{value} must be at most {n} characters"), value=v, n=n))\n'
                    'found.append(("cut", Said(N_("the chain ends at entry {seq}"), seq=seq)))\n', encoding="utf-8")
    problems = unmarked(code, FILE_SINKS["config.py"] | FILE_SINKS["store/audit.py"], tmp_path)
    assert [problem.split(":")[1] for problem in problems] == ["1", "2", "3"], problems


def test_an_unmarked_message_is_caught(tmp_path):
    screen = tmp_path / "screen.py"
    screen.write_text('self.say(f"Sale {n} paid")\nBinding("f1", "help", "Help")\nself.say(_("Sale paid"))\n'
                      'Label(f"{a}  {b}")\nBigAmount.show(_("TOTAL"), emphasis="bold reverse")\n', encoding="utf-8")
    problems = unmarked(screen, SINKS["ui"], tmp_path)
    assert len(problems) == 2 and "Sale" in problems[0] and "Binding" in problems[1], problems


def test_the_catalog_compiles_and_translates():
    zh = translator("zh_CN")
    assert zh.gettext("Thank you!") != "Thank you!"
    assert translator("en").gettext("Thank you!") == "Thank you!"
    assert translator("xx").gettext("Thank you!") == "Thank you!"  # an unknown language is English


def test_the_screen_language_is_set_once_and_read_by_underscore():
    i18n.use_language("zh_CN")
    assert i18n.current_language() == "zh_CN"
    assert i18n._("Thank you!") == translator("zh_CN").gettext("Thank you!")
    i18n.use_language("en")
    assert i18n._("Thank you!") == "Thank you!"


@pytest.mark.parametrize("env, language", [
    ({"LANG": "zh_CN.UTF-8"}, "zh_CN"),
    ({"LANG": "zh_TW.UTF-8"}, "zh_CN"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({}, "en"),
    ({"LANG": "en_US.UTF-8", "LC_ALL": "zh_CN.UTF-8"}, "zh_CN"),  # LC_ALL wins over LANG
    ({"LANG": "zh_CN.UTF-8", "LC_MESSAGES": "en_GB.UTF-8"}, "en"),  # the messages' category wins over LANG
    ({"LANGUAGE": "zh_CN:en", "LANG": "en_US.UTF-8"}, "zh_CN"),
    ({"LANGUAGE": "C", "LANG": "zh_CN.UTF-8"}, "zh_CN"),
])
def test_the_system_language_is_read_from_the_locale_as_gettext_does(env, language):
    assert system_language(env) == language


def test_auto_is_the_system_language_or_the_screen_language(monkeypatch):
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert resolve("auto") == "zh_CN"
    assert resolve("en") == "en"
    assert resolve("auto", "en") == "en"  # the printer follows the screen


@pytest.mark.parametrize("language", [lang for lang in LANGUAGES if lang != SOURCE_LANGUAGE])
def test_the_till_reads_the_catalog_exactly_as_babel_does(language):
    """i18n.read_po (the till's own reader, fast at start-up) against Babel's reader, entry by entry."""
    po = catalog(language)
    zh = translator(language)
    checked = 0
    for entry in po:
        if not entry.id or entry.fuzzy:
            continue
        if isinstance(entry.id, tuple):
            assert zh.ngettext(entry.id[0], entry.id[1], 1) == entry.string[0]
            assert zh.ngettext(entry.id[0], entry.id[1], 5) == entry.string[0 if po.num_plurals == 1 else 1]
        elif entry.context:
            assert zh.pgettext(entry.context, entry.id) == entry.string
        else:
            assert zh.gettext(entry.id) == entry.string
        checked += 1
    assert checked == len([e for e in po if e.id])


def test_the_reader_skips_fuzzy_and_empty_entries_and_reads_continued_strings():
    zh = i18n.read_po('msgid ""\nmsgstr ""\n"Plural-Forms: nplurals=1; plural=0;\\n"\n\n'
                      '#, fuzzy\nmsgid "Cash"\nmsgstr "现金"\n\nmsgid "Card"\nmsgstr ""\n\n'
                      'msgid ""\n"Two\\n"\n"lines"\nmsgstr ""\n"两\\n"\n"行"\n\n'
                      'msgid "{n} item"\nmsgid_plural "{n} items"\nmsgstr[0] "{n} 件"\n')
    assert zh.gettext("Cash") == "Cash" and zh.gettext("Card") == "Card"
    assert zh.gettext("Two\nlines") == "两\n行"
    assert zh.ngettext("{n} item", "{n} items", 1) == zh.ngettext("{n} item", "{n} items", 7) == "{n} 件"


def test_an_error_keeps_its_english_and_is_said_in_the_screens_language():
    """The domain raises with a marked template and its values; str() is the English sentence as
    before, i18n.message() the translated one, and a plain-string error is shown as it is."""
    from tui_pos.domain.errors import N_, PosError, UnknownCode

    err = UnknownCode(N_("unknown code {code}: nothing added"), code="'123'")
    assert str(err) == "unknown code '123': nothing added"
    i18n.use_language("zh_CN")
    assert i18n.message(err) == "未知条码 '123'：未添加"
    assert i18n.message(PosError("a {brace} stays as typed")) == "a {brace} stays as typed"
    i18n.use_language("en")
    assert i18n.message(err) == str(err)


def test_an_alert_or_warning_without_a_template_is_said_by_its_message():
    """A count variance, a risk or a refund's tender (anomaly warnings) carry no template: message()
    says their English message, never the dataclass's repr."""
    from tui_pos.domain.anomalies import Warning
    from tui_pos.ops.alerts import Alert

    assert i18n.message(Warning("risk", "alice", "3 voids in an hour")) == "3 voids in an hour"
    assert i18n.message(Alert("x", "warning", "printer offline", "check it")) == "printer offline"


def test_a_said_sentence_is_english_data_and_said_whole_in_the_screens_language():
    """Said (and Each) keep a sentence's English as the str (what --json, logs and state files
    carry) and its template apart: message() says it, a Said within it and each part of an Each
    (with the language's own separator), in the screen's language; copied, it stays whole."""
    import copy
    import json

    from tui_pos.domain.errors import N_, BadInput, Each, Said

    state = Said(N_("database {state}: {error}"), state=Said(N_("missing")), error="/x does not exist")
    kinds = Each([Said(N_("cash")), Said(N_("card"))], sep=", ")
    both = Each([state, Said(N_("no backup yet"))])
    assert state == "database missing: /x does not exist" and kinds == "cash, card"
    assert json.dumps({"problems": [state, both]}) == \
        '{"problems": ["database missing: /x does not exist", "database missing: /x does not exist; no backup yet"]}'
    assert copy.deepcopy(state).template == state.template and copy.deepcopy(kinds).sep == ", "
    refused = BadInput(state)  # an error raised with a Said made already: the same sentence, template and values
    assert (str(refused), refused.template, refused.params) == (state, state.template, state.params)
    i18n.use_language("zh_CN")
    assert i18n.message(state) == i18n.message(refused) == "数据库缺失：/x does not exist"
    assert i18n.message(kinds) == "现金、银行卡"
    assert i18n.message(both) == "数据库缺失：/x does not exist；还没有备份"
    bad_line = Said(N_("line {line}: {error}"), line=2, error=BadInput(N_("name is empty")))  # an error within
    assert i18n.message(bad_line) == "第 2 行：名称为空"
    i18n.use_language("en")
    assert i18n.message(both) == both
