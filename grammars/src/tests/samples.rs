//! One small, idiomatic source file per language, and what the queries find
//! in it.
//!
//! Each sample mixes top-level and nested definitions with a few imports, and
//! must parse without errors. Update the snapshots with
//! `UPDATE_EXPECT=1 cargo test -p hearth-grammars`, then read the diff.

use expect_test::expect;

use super::check;
use crate::Lang;

#[test]
fn rust() {
    check(
        Lang::Rust,
        r#"
use std::collections::HashMap;
use std::fmt::{self, Display};
extern crate alloc;

/// A point in the plane.
pub struct Point {
    x: f64,
    y: f64,
}

pub struct Meters(f64);

pub enum Shape {
    Circle(Point, f64),
    Polygon(Vec<Point>),
}

union Bits {
    int: u32,
    float: f32,
}

pub type Registry = HashMap<String, Shape>;

pub trait Area {
    fn area(&self) -> f64;

    fn is_empty(&self) -> bool {
        self.area() == 0.0
    }
}

impl Area for Shape {
    fn area(&self) -> f64 {
        match self {
            Shape::Circle(_, r) => std::f64::consts::PI * r * r,
            Shape::Polygon(_) => 0.0,
        }
    }
}

impl<T: Display> Wrapper<T> {
    type Inner = T;
}

impl Display for &Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {})", self.x, self.y)
    }
}

unsafe extern "C" {
    fn abs(input: i32) -> i32;
}

pub fn largest(shapes: &[Shape]) -> Option<&Shape> {
    fn key(shape: &Shape) -> f64 {
        shape.area()
    }
    shapes.iter().max_by(|a, b| key(a).total_cmp(&key(b)))
}

mod tests {
    use super::*;

    #[test]
    fn empty() {}
}
"#,
        expect![[r#"
            items:
              struct_item Point
              struct_item Meters
              enum_item Shape
              union_item Bits
              type_item Registry
              trait_item Area
              function_signature_item area
              function_item is_empty
              impl_item Shape
              function_item area
              impl_item Wrapper<T>
              type_item Inner
              impl_item &Point
              function_item fmt
              function_signature_item abs
              function_item largest
              function_item key
              function_item empty
            imports:
              use std::collections::HashMap;
              use std::fmt::{self, Display};
              extern crate alloc;
              use super::*;
        "#]],
    );
}

#[test]
fn python() {
    check(
        Lang::Python,
        r#"
from __future__ import annotations

import os
import sys as system
from dataclasses import dataclass, field
from . import utils

type Vector = list[float]
type Pair[T] = tuple[T, T]


@dataclass
class Config:
    name: str
    paths: list[str] = field(default_factory=list)

    @classmethod
    def from_env(cls) -> Config:
        return cls(os.environ.get("NAME", ""))

    def resolve(self) -> list[str]:
        def absolute(path: str) -> str:
            return os.path.abspath(path)

        return [absolute(p) for p in self.paths]


async def main() -> None:
    import json

    print(json.dumps(Config.from_env().resolve()), file=system.stderr)
"#,
        expect![[r#"
            items:
              type_alias_statement Vector
              type_alias_statement Pair
              class_definition Config
              function_definition from_env
              function_definition resolve
              function_definition absolute
              function_definition main
            imports:
              from __future__ import annotations
              import os
              import sys as system
              from dataclasses import dataclass, field
              from . import utils
              import json
        "#]],
    );
}

#[test]
fn javascript() {
    check(
        Lang::JavaScript,
        r#"
import React, { useState } from "react";
import * as path from "node:path";
export { helper } from "./helper.js";
const fs = require("fs");
require("./polyfill");

export function Counter({ start }) {
  const [count, setCount] = useState(start);
  return <button onClick={() => setCount(count + 1)}>{count}</button>;
}

function* ids() {
  let id = 0;
  while (true) yield id++;
}

export class Store {
  items = [];
  onChange = () => {};

  constructor(name) {
    this.name = name;
  }

  add(item) {
    this.items.push(item);
  }

  get size() {
    return this.items.length;
  }
}

const load = async (file) => JSON.parse(await fs.promises.readFile(file, "utf8")),
  save = function (file, data) {};

module.exports.read = function (file) {
  return fs.readFileSync(path.resolve(file));
};
"#,
        expect![[r#"
            items:
              function_declaration Counter
              generator_function_declaration ids
              class_declaration Store
              field_definition onChange
              method_definition constructor
              method_definition add
              method_definition size
              variable_declarator load
              variable_declarator save
              assignment_expression read
            imports:
              import React, { useState } from "react";
              import * as path from "node:path";
              export { helper } from "./helper.js";
              const fs = require("fs");
              require("./polyfill");
        "#]],
    );
}

#[test]
fn typescript() {
    check(
        Lang::TypeScript,
        TYPESCRIPT,
        expect![[r#"
        items:
          interface_declaration Repository
          method_signature find
          method_signature save
          type_alias_declaration Id
          enum_declaration Level
          function_signature parse
          function_declaration parse
          abstract_class_declaration Base
          abstract_method_signature describe
          class_declaration MemoryRepository
          public_field_definition handler
          method_definition find
          method_definition save
          method_definition describe
          variable_declarator load
        imports:
          import { readFile } from "fs/promises";
          import type { Stats } from "fs";
          import express = require("express");
          export * from "./types";
    "#]],
    );
}

/// TSX shares TypeScript's queries; check they behave the same on the TSX
/// grammar, plus a component returning JSX.
#[test]
fn tsx() {
    let source = format!(
        "{TYPESCRIPT}\nexport const Badge = ({{ label }}: {{ label: string }}) => <span className=\"badge\">{{label}}</span>;\n"
    );
    check(
        Lang::Tsx,
        &source,
        expect![[r#"
        items:
          interface_declaration Repository
          method_signature find
          method_signature save
          type_alias_declaration Id
          enum_declaration Level
          function_signature parse
          function_declaration parse
          abstract_class_declaration Base
          abstract_method_signature describe
          class_declaration MemoryRepository
          public_field_definition handler
          method_definition find
          method_definition save
          method_definition describe
          variable_declarator load
          variable_declarator Badge
        imports:
          import { readFile } from "fs/promises";
          import type { Stats } from "fs";
          import express = require("express");
          export * from "./types";
    "#]],
    );
}

const TYPESCRIPT: &str = r#"
import { readFile } from "fs/promises";
import type { Stats } from "fs";
import express = require("express");
export * from "./types";

export interface Repository<T> {
  find(id: string): Promise<T | undefined>;
  save(item: T): Promise<void>;
}

export type Id = string;

enum Level {
  Debug,
  Info,
}

export function parse(text: string): number;
export function parse(text: string, radix?: number): number {
  return Number.parseInt(text, radix);
}

abstract class Base {
  abstract describe(): string;
}

export class MemoryRepository<T extends { id: Id }> extends Base implements Repository<T> {
  private readonly items = new Map<Id, T>();
  handler = (item: T): void => {};

  async find(id: Id): Promise<T | undefined> {
    return this.items.get(id);
  }

  async save(item: T): Promise<void> {
    this.items.set(item.id, item);
  }

  describe(): string {
    return `${this.items.size} items`;
  }
}

export const load = async (file: string): Promise<string> => readFile(file, "utf8");
"#;

#[test]
fn go() {
    check(
        Lang::Go,
        r#"
package store

import "errors"

import (
	"fmt"
	str "strings"
)

type ID string

type (
	Item struct {
		ID   ID
		Name string
	}

	Repository interface {
		Find(id ID) (*Item, error)
		Save(item *Item) error
	}
)

type Items = []Item

var ErrNotFound = errors.New("not found")

type memory struct {
	items map[ID]*Item
}

func NewMemory() *memory {
	return &memory{items: map[ID]*Item{}}
}

func (m *memory) Find(id ID) (*Item, error) {
	item, ok := m.items[id]
	if !ok {
		return nil, fmt.Errorf("%s: %w", str.ToUpper(string(id)), ErrNotFound)
	}
	return item, nil
}

func Map[T, U any](xs []T, f func(T) U) []U {
	out := make([]U, 0, len(xs))
	for _, x := range xs {
		out = append(out, f(x))
	}
	return out
}
"#,
        expect![[r#"
            items:
              type_spec ID
              type_spec Item
              type_spec Repository
              method_elem Find
              method_elem Save
              type_alias Items
              type_spec memory
              function_declaration NewMemory
              method_declaration Find
              function_declaration Map
            imports:
              import "errors"
              import ( "fmt" str "strings" )
        "#]],
    );
}

#[test]
fn c() {
    check(
        Lang::C,
        r#"
#include <stdio.h>
#include <stdlib.h>
#include "list.h"

typedef struct node {
    int value;
    struct node *next;
} node;

typedef struct node *node_ptr;
typedef void (*visitor)(int value);

union number {
    int i;
    double d;
};

enum color { RED, GREEN, BLUE };

static int count(const node *head);
char *describe(const node *head);

static int count(const node *head) {
    int n = 0;
    for (; head; head = head->next) {
        n++;
    }
    return n;
}

char *describe(const node *head) {
    char *out = malloc(32);
    snprintf(out, 32, "%d nodes", count(head));
    return out;
}

int main(void) {
    struct node head = {1, NULL};
    puts(describe(&head));
    return 0;
}
"#,
        expect![[r#"
            items:
              type_definition node
              struct_specifier node
              type_definition node_ptr
              type_definition visitor
              union_specifier number
              enum_specifier color
              declaration count
              declaration describe
              function_definition count
              function_definition describe
              function_definition main
            imports:
              #include <stdio.h>
              #include <stdlib.h>
              #include "list.h"
        "#]],
    );
}

#[test]
fn cpp() {
    check(
        Lang::Cpp,
        r#"
#include <memory>
#include <string>
#include "shape.hpp"

namespace geometry {

using Length = double;

enum class Unit { Meter, Foot };

struct Point {
    Length x, y;
};

class Shape {
public:
    Shape();
    virtual ~Shape() = default;
    virtual Length area() const = 0;
    std::string name() const { return "shape"; }
    Shape &operator=(const Shape &other);
};

template <typename T>
class Circle : public Shape {
public:
    explicit Circle(T radius) : radius_(radius) {}
    Length area() const override { return 3.14159 * radius_ * radius_; }

private:
    T radius_;
};

Shape::Shape() {}

Shape &Shape::operator=(const Shape &other) {
    return *this;
}

std::unique_ptr<Shape> make_unit_circle();

}  // namespace geometry

int main() {
    auto shape = geometry::make_unit_circle();
    return shape->area() > 0 ? 0 : 1;
}
"#,
        expect![[r#"
            items:
              alias_declaration Length
              enum_specifier Unit
              struct_specifier Point
              class_specifier Shape
              declaration Shape
              function_definition ~Shape
              field_declaration area
              function_definition name
              field_declaration operator=
              class_specifier Circle
              function_definition Circle
              function_definition area
              function_definition Shape::Shape
              function_definition Shape::operator=
              declaration make_unit_circle
              function_definition main
            imports:
              #include <memory>
              #include <string>
              #include "shape.hpp"
        "#]],
    );
}

#[test]
fn java() {
    check(
        Lang::Java,
        r#"
package com.example.store;

import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import static java.util.Objects.requireNonNull;
import java.util.concurrent.*;

public class Store<T> {
    public interface Listener {
        void onChange(String key);
    }

    public enum Mode { READ, WRITE }

    public record Entry(String key, int version) {}

    @interface Audited {}

    private final Map<String, T> items = new HashMap<>();

    public Store() {}

    public Optional<T> get(String key) {
        return Optional.ofNullable(items.get(requireNonNull(key)));
    }

    public void put(String key, T value) {
        items.put(key, value);
    }
}
"#,
        expect![[r#"
            items:
              class_declaration Store
              interface_declaration Listener
              method_declaration onChange
              enum_declaration Mode
              record_declaration Entry
              annotation_type_declaration Audited
              constructor_declaration Store
              method_declaration get
              method_declaration put
            imports:
              import java.util.HashMap;
              import java.util.Map;
              import java.util.Optional;
              import static java.util.Objects.requireNonNull;
              import java.util.concurrent.*;
        "#]],
    );
}

#[test]
fn lua() {
    check(
        Lang::Lua,
        r#"
local json = require("json")
local util = require "util"
Log = require("log")
require("strict")

local M = {}

local function trim(s)
  return (s:gsub("^%s+", ""):gsub("%s+$", ""))
end

function M.load(path)
  local lazy = require("lazy")
  local file = assert(io.open(path, "r"))
  local data = json.decode(file:read("*a"))
  file:close()
  return data
end

function M:reload()
  self.data = M.load(self.path)
end

M.save = function(path, data)
  util.write(path, json.encode(data))
end

local handlers = {
  on_change = function(key) print(trim(key)) end,
}

return M
"#,
        expect![[r#"
            items:
              function_declaration trim
              function_declaration M.load
              function_declaration M:reload
              assignment_statement M.save
              field on_change
            imports:
              local json = require("json")
              local util = require "util"
              Log = require("log")
              require("strict")
        "#]],
    );
}

#[test]
fn bash() {
    check(
        Lang::Bash,
        r#"#!/usr/bin/env bash
set -euo pipefail

source "$(dirname "$0")/lib.sh"
. ./env.sh
[ -f "$HOME/.deployrc" ] && source "$HOME/.deployrc"

log() {
  echo "[$(date +%T)] $*" >&2
}

function deploy {
  local target="$1"
  log "deploying to $target"
  rsync -a build/ "$target"
}

main() {
  deploy "${1:-staging}"
}

main "$@"
"#,
        expect![[r#"
            items:
              function_definition log
              function_definition deploy
              function_definition main
            imports:
              source "$(dirname "$0")/lib.sh"
              . ./env.sh
              source "$HOME/.deployrc"
        "#]],
    );
}
