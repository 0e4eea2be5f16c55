#!/usr/bin/env python3
"""Reads the LSP traffic in Helix's verbose log for tests/editors/helix/run.

Helix started with `-v --log FILE` writes every message it exchanges with a
language server as one line:
    <time> helix_lsp::transport [INFO] <server> -> {json}   (Helix to server)
    <time> helix_lsp::transport [INFO] <server> <- {json}   (server to Helix)
From those lines this script tells the test what Hearth suggested and what its
code action returned, and checks the saved file against them.

    check.py ready LOG                      exit 0 once Hearth reported its model loaded
    check.py completion LOG                 print the newest non-empty completion reply as JSON
    check.py action LOG                     print what became of the chosen code action as JSON
    check.py pending LOG                    print requests left unanswered, and server
                                            requests Helix was slow to answer
    check.py verify LOG BEFORE SAVED EXPECTED
        BEFORE: the buffer as it was when completion was requested. Applies
        the accepted item's textEdit, then the code action's edits, to
        BEFORE, writes the result to EXPECTED and compares it with SAVED.
"""

import json
import re
import sys
from datetime import datetime

SERVER = "hearth"
LINE = re.compile(r"^(\S+) helix_lsp::transport \[\w+\] (\S+) (->|<-) (\{.*\})$")


def traffic(log):
    """Yields (time, direction, message) for SERVER's JSON-RPC messages."""
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = LINE.match(line.rstrip("\n"))
            if not m or m.group(2) != SERVER:
                continue
            try:
                message = json.loads(m.group(4))
            except ValueError:
                continue
            yield datetime.fromisoformat(m.group(1)), m.group(3), message


def exchanges(log):
    """Requests with their replies, in the order they were sent.

    Returns a list of dicts: direction ("->" Helix asked, "<-" server asked),
    method, params, sent, and, when answered, replied, result or error."""
    out, open_ = [], {}
    for time, direction, message in traffic(log):
        if "method" in message and "id" in message:
            entry = {
                "direction": direction,
                "method": message["method"],
                "id": message["id"],
                "params": message.get("params"),
                "sent": time,
            }
            out.append(entry)
            open_[(direction, message["id"])] = entry
        elif "method" not in message and "id" in message:
            asker = "<-" if direction == "->" else "->"
            entry = open_.pop((asker, message["id"]), None)
            if entry is not None:
                entry["replied"] = time
                if "error" in message:
                    entry["error"] = message["error"]
                else:
                    entry["result"] = message.get("result")
    return out


def seconds(entry):
    return round((entry["replied"] - entry["sent"]).total_seconds(), 2)


def completion_reply(log):
    """The newest answered completion request whose reply has items."""
    for entry in reversed(exchanges(log)):
        if entry["method"] != "textDocument/completion" or "replied" not in entry:
            continue
        result = entry.get("result")
        items = result.get("items", []) if isinstance(result, dict) else (result or [])
        if items:
            return entry, items
    return None, []


def last(entries, method, direction):
    for entry in reversed(entries):
        if entry["method"] == method and entry["direction"] == direction:
            return entry
    return None


def action_outcome(log):
    """What became of the code action the user chose.

    Hearth fills in an action's edit either when Helix resolves it
    (`codeAction/resolve` returns the edit) or, for an action that carries a
    command, when Helix runs that command (`workspace/executeCommand`, and
    Hearth then sends `workspace/applyEdit`). Returns None before Helix asked
    for either; else a dict with kind (the action's data.kind), via, edits
    (empty while pending), seconds and failed (a message or None)."""
    entries = exchanges(log)
    resolve = last(entries, "codeAction/resolve", "->")
    command = last(entries, "workspace/executeCommand", "->")
    apply_ = last(entries, "workspace/applyEdit", "<-")
    if resolve is None and command is None:
        return None
    out = {"kind": None, "title": None, "via": None, "edits": [], "seconds": None, "failed": None}
    if resolve is not None:
        params = resolve["params"] or {}
        out["title"] = params.get("title")
        out["kind"] = (params.get("data") or {}).get("kind")
        if "error" in resolve and "command" not in params:
            out["failed"] = f"codeAction/resolve failed: {resolve['error']}"
        edits = action_edits(resolve.get("result"))
        if edits:
            out.update(via="codeAction/resolve", edits=edits, seconds=seconds(resolve))
            return out
    if command is not None:
        args = (command["params"] or {}).get("arguments") or [{}]
        out["kind"] = out["kind"] or (args[0] or {}).get("kind")
        if "error" in command:
            out["failed"] = f"workspace/executeCommand failed: {command['error']}"
        if apply_ is not None and apply_["sent"] >= command["sent"]:
            edits = action_edits(apply_["params"])
            took = round((apply_["sent"] - command["sent"]).total_seconds(), 2)
            out.update(via="workspace/executeCommand + workspace/applyEdit", edits=edits,
                       seconds=took)
    return out


def position_encoding(log):
    for entry in exchanges(log):
        if entry["method"] == "initialize" and isinstance(entry.get("result"), dict):
            return entry["result"]["capabilities"].get("positionEncoding", "utf-16")
    return "utf-16"


def offset(text, position, encoding):
    """Character index in text of an LSP position."""
    lines = text.split("\n")
    line, character = position["line"], position["character"]
    if line >= len(lines):
        raise ValueError(f"position {position} is past the end of the text")
    start = sum(len(it) + 1 for it in lines[:line])
    units = {"utf-8": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}[encoding]
    width = {"utf-8": 1, "utf-16": 2, "utf-32": 4}[encoding]
    count = 0
    for index, ch in enumerate(lines[line]):
        if count >= character:
            return start + index
        count += len(ch.encode(units)) // width
    if count >= character:
        return start + len(lines[line])
    raise ValueError(f"position {position} is past the end of its line")


def apply(text, edits, encoding):
    spans = [
        (offset(text, e["range"]["start"], encoding), offset(text, e["range"]["end"], encoding),
         e["newText"])
        for e in edits
    ]
    for start, end, new in sorted(spans, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def action_edits(holder):
    """The TextEdits in holder["edit"], a WorkspaceEdit (holder: a resolved
    CodeAction, or the params of workspace/applyEdit)."""
    edit = (holder or {}).get("edit") or {}
    edits = []
    for change in edit.get("documentChanges") or []:
        edits.extend(change.get("edits", []))
    for changes in (edit.get("changes") or {}).values():
        edits.extend(changes)
    return edits


def main(argv):
    command, log = argv[1], argv[2]
    if command == "ready":
        for _, direction, message in traffic(log):
            value = (message.get("params") or {}).get("value") or {}
            token = (message.get("params") or {}).get("token")
            if direction == "<-" and token == "hearth/loadModel" and value.get("kind") == "end":
                print(value.get("message", ""))
                return 0
        return 1
    if command == "completion":
        entry, items = completion_reply(log)
        if entry is None:
            return 1
        item = items[0]
        json.dump({
            "label": item["label"],
            "detail": item.get("detail"),
            "textEdit": item.get("textEdit"),
            "newText": (item.get("textEdit") or {}).get("newText", item.get("insertText")),
            "items": len(items),
            "seconds": seconds(entry),
        }, sys.stdout)
        return 0
    if command == "action":
        outcome = action_outcome(log)
        if outcome is None:
            return 1
        json.dump(outcome, sys.stdout)
        return 0
    if command == "pending":
        for entry in exchanges(log):
            who = "Helix asked hearth" if entry["direction"] == "->" else "hearth asked Helix"
            what = f"{who}: {entry['method']} (id {entry['id']}, sent {entry['sent'].time()})"
            if "replied" not in entry:
                print(f"{what}: no reply")
            elif entry["direction"] == "<-" and seconds(entry) > 5:
                print(f"{what}: Helix replied only after {seconds(entry)} s")
        return 0
    if command == "verify":
        before_path, saved_path, expected_path = argv[3], argv[4], argv[5]
        encoding = position_encoding(log)
        entry, items = completion_reply(log)
        outcome = action_outcome(log)
        if entry is None or outcome is None or not outcome["edits"]:
            print("verify: no completion reply or no code action edit in the log")
            return 1
        with open(before_path, encoding="utf-8") as f:
            text = f.read()
        text = apply(text, [items[0]["textEdit"]], encoding)
        text = apply(text, outcome["edits"], encoding)
        with open(expected_path, "w", encoding="utf-8") as f:
            f.write(text)
        with open(saved_path, encoding="utf-8") as f:
            saved = f.read()
        if saved != text:
            print("verify: the saved file differs from BEFORE + completion + action edits")
            return 1
        return 0
    raise SystemExit(f"unknown command {command}")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
