#!/usr/bin/env python3
"""A stand-in for a language's own server (rust-analyzer) in the Helix test.

editors/helix/languages.toml lists each language's usual server before
Hearth. The test puts this script on $PATH under that server's name so that
Helix runs two servers side by side, as it does for users, without depending
on whether (or which) rust-analyzer the machine has. It answers every
completion request at once with two fixed items, so the menu opens with
them first and Hearth's suggestion is merged in when it arrives.
"""

import json
import sys

ITEMS = [
    {"label": "stub_alpha", "kind": 6, "sortText": "1"},
    {"label": "stub_beta", "kind": 6, "sortText": "2"},
]


def read_message(stream):
    length = None
    while True:
        line = stream.readline()
        if not line:
            return None
        line = line.strip()
        if not line:
            break
        name, _, value = line.decode("ascii").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return json.loads(stream.read(length)) if length is not None else {}


def send(message):
    body = json.dumps(message).encode()
    sys.stdout.buffer.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
    sys.stdout.buffer.flush()


def main():
    stdin = sys.stdin.buffer
    while True:
        message = read_message(stdin)
        if message is None:
            return
        method = message.get("method")
        if method == "exit":
            return
        if "id" not in message or method is None:
            continue  # a notification, or a reply to us
        result = None
        if method == "initialize":
            result = {
                "capabilities": {"textDocumentSync": 1, "completionProvider": {}},
                "serverInfo": {"name": "stub-rust-analyzer"},
            }
        elif method == "textDocument/completion":
            result = {"isIncomplete": False, "items": ITEMS}
        send({"jsonrpc": "2.0", "id": message["id"], "result": result})


if __name__ == "__main__":
    main()
