#!/usr/bin/env python3
"""Runs the built extension (target/wasm32-wasip2/release/hearth_zed.wasm) in
Wasmtime with a stand-in for the part of Zed's host it uses: `worktree.which`
and `get-settings` for `lsp.hearth`. Zed itself is not involved; this checks
that the WebAssembly component links against Zed's interface and answers the
language-server calls as the unit tests expect.

Usage: wasm_host.py PATH.wasm   (needs `pip install wasmtime`, tested with 50.0.1)
"""

import json
import sys

from wasmtime import Engine, Store, WasiConfig
from wasmtime.component import Component, Linker, ResourceHost, ResourceType, Variant

WORKTREE_ID = 42
WORKTREE, PROJECT, KEY_VALUE_STORE = 1, 2, 3  # host resource type ids

# What the fake host answers; each case below sets it.
host = {"which": None, "lsp": {}}


def define_host(linker):
    with linker.root() as root:
        for name, ty in [("worktree", WORKTREE), ("project", PROJECT), ("key-value-store", KEY_VALUE_STORE)]:
            root.add_resource(name, ResourceType.host(ty), lambda store, rep: None)

        def worktree_id(store, this):
            this.drop(store)  # a borrowed handle lifted into the host must be released
            return WORKTREE_ID

        def which(store, this, binary):
            this.drop(store)
            assert binary == "hearth", binary
            return host["which"]

        def get_settings(store, location, category, key):
            assert (category, key) == ("lsp", "hearth"), (category, key)
            assert getattr(location, "worktree-id") == WORKTREE_ID
            # Zed serializes its LspSettings: binary, settings, initialization_options.
            return Variant("ok", json.dumps(host["lsp"]))

        root.add_func("[method]worktree.id", worktree_id)
        root.add_func("[method]worktree.which", which)
        root.add_func("get-settings", get_settings)


def main(wasm):
    engine = Engine()
    component = Component.from_file(engine, wasm)
    linker = Linker(engine)
    linker.add_wasip2()
    define_host(linker)
    store = Store(engine)
    wasi = WasiConfig()
    wasi.env = [("PWD", "/")]  # Zed sets it; init-extension reads it
    store.set_wasi(wasi)
    instance = linker.instantiate(store, component)

    def call(name, *args):
        func = instance.get_func(store, instance.get_export_index(store, name))
        result = func(store, *args)
        func.post_return(store)
        return result

    def worktree():
        return ResourceHost.borrow(1, WORKTREE)

    def command():
        result = call("language-server-command", "hearth", worktree())
        if isinstance(result, str):  # result<command, string>: the error is the string
            return result
        return (result.command, result.args)

    def options(export):
        result = call(export, "hearth", worktree())
        assert result.tag == "ok", result
        return None if result.payload is None else json.loads(result.payload)

    def init_options():
        return options("language-server-initialization-options")

    def workspace_configuration():
        return options("language-server-workspace-configuration")

    call("init-extension")

    error = command()
    assert isinstance(error, str) and "not found on PATH" in error and "lsp.hearth.binary.path" in error, error
    assert init_options() is None and workspace_configuration() is None

    host["which"] = "/usr/local/bin/hearth"
    assert command() == ("/usr/local/bin/hearth", []), command()
    assert init_options() is None and workspace_configuration() is None

    host["lsp"] = {
        "binary": {"path": "/opt/hearth/bin/hearth", "arguments": ["--flag"]},
        "settings": {"model": {"path": "~/m.gguf"}, "completion": {"maxLines": 4}},
        "initialization_options": {"completion": {"completionItems": "always"}},
    }
    expected = {"model": {"path": "~/m.gguf"}, "completion": {"maxLines": 4, "completionItems": "always"}}
    assert command() == ("/opt/hearth/bin/hearth", ["--flag"]), command()
    assert init_options() == expected, init_options()
    assert workspace_configuration() == {"hearth": expected}, workspace_configuration()

    host["lsp"] = {"settings": {"hearth": {"completion": {"maxTokensLine": 32}}}}
    assert workspace_configuration() == {"hearth": {"completion": {"maxTokensLine": 32}}}
    print("wasm host test: 4 cases passed")


if __name__ == "__main__":
    main(sys.argv[1])
