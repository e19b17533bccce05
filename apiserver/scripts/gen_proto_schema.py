#!/usr/bin/env python3
"""Generates the protobuf tables of the built-in types (apiserver/src/protobuf/).

Two steps, two sources of facts:

1. `gen_proto_schema.py facts <kubernetes/api> <kubernetes/apimachinery>
   <kubernetes/apiextensions-apiserver> <kubernetes/kube-aggregator> > apiserver/src/protobuf/go_fields.tsv`
   reads the Go struct tags of the API types (the checkouts of the staging repositories) and
   writes, per protobuf field, what the protobuf definitions do not carry: the field's JSON name,
   whether its Go type is a pointer (a zero value that is set), whether its JSON tag has
   `omitempty` (or `omitzero`), its position in the Go struct (the order `encoding/json` writes
   fields in), and whether it is inlined into its parent's JSON (`json:",inline"`). The checked-in
   file is the record of those facts; rerun this step when the Kubernetes version changes.

2. `gen_proto_schema.py table <k8s-pb-x/src> <go_fields.tsv> <k8s-openapi-x/src/v1_NN>
   > apiserver/src/protobuf/schema.rs` reads the prost definitions of the `k8s-pb` crate (message
   names, field tags, wire types, nested messages, maps) and joins every field with its Go facts
   by (package, message, tag); the top-level kinds come from k8s-openapi's `Resource` impls. It
   fails, naming them, when a field of k8s-pb has no Go facts.

apiserver/tests/proto_schema_drift.rs runs step 2 offline on the crates cargo resolved and fails
when the checked-in table differs.
"""
import os
import re
import sys

# Go package directories of each staging repository -> the k8s-pb / k8s-openapi module prefix.
GO_ROOTS = [
    ("api", ""),  # <repo>/<group>/<version> -> api/<group>/<version>
    ("apimachinery", "pkg/apis/meta/v1"),
    ("apimachinery", "pkg/runtime"),
    ("apimachinery", "pkg/util/intstr"),
    ("apimachinery", "pkg/api/resource"),
    ("apiextensions", "pkg/apis/apiextensions/v1"),
    ("aggregator", "pkg/apis/apiregistration/v1"),
]
MODULE_PREFIX = {
    "api": "api/",
    "apimachinery": "apimachinery/",
    "apiextensions": "apiextensions_apiserver/",
    "aggregator": "kube_aggregator/",
}

# Messages whose JSON form is not their fields' (custom MarshalJSON in Go): the codec has a
# rule of its own for each.
SPECIAL = {
    "apimachinery/pkg/apis/meta/v1.Time": "Time",
    "apimachinery/pkg/apis/meta/v1.MicroTime": "MicroTime",
    "apimachinery/pkg/apis/meta/v1.FieldsV1": "RawJson",
    "apimachinery/pkg/runtime.RawExtension": "RawJson",
    "apimachinery/pkg/util/intstr.IntOrString": "IntOrString",
    "apimachinery/pkg/api/resource.Quantity": "Quantity",
    "apiextensions_apiserver/pkg/apis/apiextensions/v1.JSON": "RawJson",
    "apiextensions_apiserver/pkg/apis/apiextensions/v1.JSONSchemaPropsOrArray": "SchemaOrArray",
    "apiextensions_apiserver/pkg/apis/apiextensions/v1.JSONSchemaPropsOrBool": "SchemaOrBool",
    "apiextensions_apiserver/pkg/apis/apiextensions/v1.JSONSchemaPropsOrStringArray": "SchemaOrStringArray",
}


def tuple_of(full):
    module, name = full.split(".")
    return (module, norm(name))


def norm(name):
    """prost renames messages to UpperCamelCase (JSONSchemaProps -> JsonSchemaProps)."""
    return name.replace("_", "").lower()


SPECIAL_NORM = {}


def facts(repos):
    api, apimachinery, apiextensions, aggregator = repos
    base = {"api": api, "apimachinery": apimachinery, "apiextensions": apiextensions,
            "aggregator": aggregator}
    dirs = []
    for repo, sub in GO_ROOTS:
        root = base[repo]
        if repo == "api":
            for group in sorted(os.listdir(root)):
                gdir = os.path.join(root, group)
                if not os.path.isdir(gdir) or group.startswith("."):
                    continue
                for version in sorted(os.listdir(gdir)):
                    vdir = os.path.join(gdir, version)
                    if os.path.isdir(vdir) and re.fullmatch(r"v\d+((alpha|beta)\d+)?", version):
                        dirs.append((vdir, MODULE_PREFIX[repo] + f"{group}/{version}"))
        else:
            dirs.append((os.path.join(root, sub), MODULE_PREFIX[repo] + sub))
    rows = []
    slices = []
    for d, module in dirs:
        for f in sorted(os.listdir(d)):
            if not f.endswith(".go") or f.endswith("_test.go") or f.startswith("zz_") or f.endswith(".pb.go"):
                continue
            text = open(os.path.join(d, f)).read()
            for m in re.finditer(r"^type (\w+) \[\](\S+)$", text, re.M):
                slices.append((module, m.group(1)))
            for m in re.finditer(r"^type (\w+) struct \{\n(.*?)^\}", text, re.M | re.S):
                struct, body = m.group(1), m.group(2)
                position = 0
                for line in body.split("\n"):
                    fm = re.match(r"^\t(?:(\w+)\s+)?(\S+)\s+`(.*)`", line)
                    if not fm:
                        continue
                    tags = dict(re.findall(r'(\w+):"([^"]*)"', fm.group(3)))
                    if "protobuf" not in tags:
                        continue
                    proto = tags["protobuf"].split(",")
                    if len(proto) < 2 or not proto[1].isdigit():
                        continue
                    tag = int(proto[1])
                    js = tags.get("json", "").split(",")
                    json_name = js[0]
                    opts = js[1:]
                    inline = "inline" in opts
                    if json_name == "" and not inline:
                        # An embedded struct without a JSON name is inlined by encoding/json.
                        inline = fm.group(1) is None
                        if not inline:
                            json_name = fm.group(1)
                    if json_name == "-":
                        continue
                    gotype = fm.group(2)
                    rows.append((module, struct, tag, json_name, "ptr" if gotype.startswith("*") else "val",
                                 "omitzero" if "omitzero" in opts else "omitempty" if "omitempty" in opts else "always",
                                 "inline" if inline else "field",
                                 position))
                    position += 1
    print("# Go facts of the protobuf fields of the built-in API types: GENERATED by")
    print("# apiserver/scripts/gen_proto_schema.py facts (from the Go struct tags); do not edit.")
    print("# module\tmessage\ttag\tjson\tpointer\tomitempty\tinline\tposition (in the Go struct)")
    for r in sorted(rows):
        print("\t".join(str(x) for x in r))
    for module, name in sorted(slices):
        print(f"{module}\t{name}\t0\t-\tslice\t-\t-\t-")


def parse_pb(root):
    """module -> {message: [(field, kind, label, tag, target, packed)]}"""
    messages = {}
    for dirpath, _, files in os.walk(root):
        if "mod.rs" not in files:
            continue
        module = os.path.relpath(dirpath, root).replace(os.sep, "/")
        text = open(os.path.join(dirpath, "mod.rs")).read()
        for m in re.finditer(r"^pub struct (\w+) \{\}", text, re.M):
            messages.setdefault(module, {})[m.group(1)] = []
        for m in re.finditer(r"^pub struct (\w+) \{\n(.*?)^\}", text, re.M | re.S):
            name, body = m.group(1), m.group(2)
            # rustfmt splits long generic types over lines: join them back.
            body = re.sub(r"<\s+", "<", body)
            body = re.sub(r",\s+>", ">", body)
            body = re.sub(r",\n\s+(?=::|super|[A-Z])", ", ", body)
            fields = []
            for fm in re.finditer(r"#\[prost\((.*?)\)\]\n\s*pub (r#)?(\w+):\s+(.*?),\n", body, re.S):
                attr, rust, ty = fm.group(1), fm.group(3), fm.group(4)
                tag = int(re.search(r'tag = "(\d+)"', attr).group(1))
                kind = attr.split(",")[0].split("=")[0].strip()
                label = "repeated" if "repeated" in attr else "single"
                packed = 'packed = "false"' not in attr and label == "repeated" and kind not in ("string", "bytes", "message")
                target = ""
                if kind == "btree_map":
                    key, value = re.search(r'btree_map = "(\w+), (\w+)"', attr).groups()
                    if key != "string":
                        sys.exit(f"{module}.{name}.{rust}: map key {key} not supported")
                    kind, label = value, "map"
                    if value == "message":
                        target = resolve(module, ty.rsplit(",", 1)[1].strip().rstrip(">"))
                elif kind == "message":
                    inner = re.sub(r"^::core::option::Option<|^::prost::alloc::vec::Vec<|::prost::alloc::boxed::Box<", "", ty)
                    inner = inner.replace("::prost::alloc::boxed::Box<", "")
                    target = resolve(module, inner.rstrip(">"))
                fields.append((rust, kind, label, tag, target, packed))
            messages.setdefault(module, {})[name] = fields
    return messages


def resolve(module, path):
    """A Rust type path relative to `module` -> `module.Message`."""
    parts = path.split("::")
    mod = module.split("/")
    while parts and parts[0] == "super":
        parts.pop(0)
        mod.pop()
    return "/".join(mod + parts[:-1]) + "." + parts[-1]


def json_order(full, messages, go_order):
    """The message's JSON field names in its Go struct's order (encoding/json writes them so), the
    fields of an inlined struct in its place; the Go fields k8s-pb lacks are named too. A message
    without Go facts keeps its tag order."""
    module, name = full.split(".")
    facts = go_order.get((module, norm(name)))
    by_tag = {f[3]: f for f in messages[module][name]}
    if facts is None:
        return [re.sub(r"_(\w)", lambda c: c.group(1).upper(), f[0]) for f in sorted(by_tag.values(), key=lambda f: f[3])]
    names = []
    for _, tag, json_name, inline in sorted(facts):
        if not inline:
            names.append(json_name)
        elif tag in by_tag and by_tag[tag][4]:
            names.extend(json_order(by_tag[tag][4], messages, go_order))
    return names


def table(pb_root, facts_path, openapi_root):
    messages = parse_pb(pb_root)
    for full, special in SPECIAL.items():
        SPECIAL_NORM[tuple_of(full)] = special
    go = {}
    go_order = {}
    slices = set()
    for line in open(facts_path):
        if line.startswith("#"):
            continue
        module, struct, tag, json_name, ptr, omit, inline, position = line.rstrip("\n").split("\t")
        if ptr == "slice":
            slices.add((module, norm(struct)))
            continue
        go[(module, norm(struct), int(tag))] = (json_name, ptr == "ptr", omit, inline == "inline")
        go_order.setdefault((module, norm(struct)), []).append((int(position), int(tag), json_name, inline == "inline"))
    # Only the messages reachable from the served kinds are tabled (k8s-pb also has metrics,
    # alpha and beta versions, custom-metrics and test types).
    roots = []
    for dirpath, _, files in os.walk(openapi_root):
        for f in files:
            if not f.endswith(".rs"):
                continue
            text = open(os.path.join(dirpath, f)).read()
            for r in re.finditer(r'impl crate::Resource for (\w+) \{\s*const API_VERSION: &\'static str = "([^"]+)";.*?const KIND: &\'static str = "([^"]+)";', text, re.S):
                module = os.path.relpath(dirpath, openapi_root).replace(os.sep, "/")
                roots.append((r.group(2), r.group(3), f"{module}.{r.group(1)}"))
    by_norm = {}
    for module, msgs in messages.items():
        for name in msgs:
            by_norm[(module, norm(name))] = name
    meta = "apimachinery/pkg/apis/meta/v1"
    kinds = []
    uncovered = []
    for api_version, kind, path in sorted(roots):
        module, name = path.split(".")
        pb = by_norm.get((module, norm(name)))
        if pb is None:
            # Newer than the k8s-pb release: served as JSON only (the codec falls back).
            uncovered.append((api_version, kind))
            continue
        kinds.append((api_version, kind, f"{module}.{pb}"))
        if (module, norm(name + "List")) in by_norm:
            kinds.append((api_version, kind + "List", f"{module}.{by_norm[(module, norm(name + 'List'))]}"))
    # kube encodes these meta types in protobuf too (as v1, meta.k8s.io/v1 and the conversions).
    for api_version, kind in [("v1", "Status"), ("v1", "DeleteOptions"), ("meta.k8s.io/v1", "DeleteOptions"),
                              ("v1", "WatchEvent"), ("meta.k8s.io/v1", "WatchEvent"),
                              ("meta.k8s.io/v1", "PartialObjectMetadata"), ("meta.k8s.io/v1", "PartialObjectMetadataList"),
                              ("v1", "List")]:
        pb = by_norm.get((meta, norm(kind)))
        if pb:
            kinds.append((api_version, kind, f"{meta}.{pb}"))
    kinds = sorted(set(kinds))
    reachable = []
    seen = set()
    stack = [k[2] for k in kinds]
    while stack:
        full = stack.pop()
        if full in seen:
            continue
        seen.add(full)
        reachable.append(full)
        if SPECIAL_NORM.get(tuple_of(full)):
            continue
        module, name = full.split(".")
        for f in messages[module][name]:
            if f[4]:
                stack.append(f[4])
    reachable.sort()
    index = {full: i for i, full in enumerate(reachable)}
    missing = []
    out = []
    for full in reachable:
        module, name = full.split(".")
        special = SPECIAL_NORM.get((module, norm(name)))
        if (module, norm(name)) in slices:
            special = "ArrayOfItems"
        fields = []
        if special is None:
            for rust, kind, label, tag, target, packed in sorted(messages[module][name], key=lambda f: f[3]):
                g = go.get((module, norm(name), tag))
                if g is None:
                    # A field the Go sources no longer (or do not yet) have: named as prost
                    # named it, in camelCase, with pointer semantics (set means present).
                    camel = re.sub(r"_(\w)", lambda c: c.group(1).upper(), rust)
                    missing.append(f"{full} field {rust} (tag {tag}) taken as `{camel}`")
                    g = (camel, True, "omitempty", False)
                json_name, ptr, omit, inline = g
                k = {"string": "Str", "bytes": "Bytes", "bool": "Bool", "int32": "I32", "int64": "I64",
                     "double": "F64"}.get(kind)
                if kind == "message":
                    k = f"Msg({index[target]})"
                if k is None:
                    sys.exit(f"{full}.{rust}: protobuf kind {kind} not supported")
                if packed:
                    sys.exit(f"{full}.{rust}: packed repeated numbers are not supported (Kubernetes' proto2 messages have none)")
                card = {"single": "One", "repeated": "Many", "map": "Map"}[label]
                presence = "Pointer" if ptr else {"omitzero": "OmitZero", "omitempty": "OmitEmpty"}.get(omit, "Always")
                fields.append(f'F {{ tag: {tag}, json: "{json_name}", kind: K::{k}, card: C::{card}, presence: P::{presence}, inline: {"true" if inline else "false"} }}')
        out.append((full, special, fields, json_order(full, messages, go_order) if special is None else []))
    print("//! The protobuf messages of the built-in types and their JSON form: GENERATED by")
    print("//! `apiserver/scripts/gen_proto_schema.py table` from the k8s-pb prost definitions and")
    print("//! `go_fields.tsv` (the Go struct tags); do not edit.")
    if missing:
        print("//!")
        print("//! k8s-pb fields the Go sources of `go_fields.tsv` do not have (alpha fields since removed")
        print("//! or renamed), named in camelCase with pointer semantics:")
        for m in missing:
            print(f"//! - {m}")
    print()
    print("use super::schema_types::{Cardinality as C, Field as F, Kind as K, Message, Presence as P, Special as S};")
    print()
    print("/// Every message reachable from a served kind, sorted by name; `Kind::Message` indexes it.")
    print("pub static MESSAGES: &[Message] = &[")
    for full, special, fields, order in out:
        sp = f"Some(S::{special})" if special else "None"
        print(f'    Message {{ name: "{full}", special: {sp}, fields: &[')
        for f in fields:
            print(f"        {f},")
        names = ", ".join(f'"{n}"' for n in order)
        print(f"    ], go_order: &[{names}] }},")
    print("];")
    print()
    print("/// (apiVersion, kind) -> its message in [`MESSAGES`], sorted for binary search.")
    print("pub static KINDS: &[(&str, &str, usize)] = &[")
    for api_version, kind, full in kinds:
        print(f'    ("{api_version}", "{kind}", {index[full]}),')
    print("];")
    print()
    print("/// Served kinds k8s-pb has no message for (newer than its Kubernetes release): JSON only.")
    print("#[cfg_attr(not(test), allow(dead_code))] // listed for the tests and the README")
    print("pub static UNCOVERED: &[(&str, &str)] = &[")
    for api_version, kind in uncovered:
        print(f'    ("{api_version}", "{kind}"),')
    print("];")


if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "facts":
        facts(sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "table":
        table(*sys.argv[2:])
    else:
        sys.exit(__doc__)
