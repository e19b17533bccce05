#!/usr/bin/env python3
"""Generates the protobuf tables of the built-in types (apiserver/src/protobuf/).

Two steps, two kinds of sources:

1. From checkouts of the Kubernetes staging repositories of the served release (kubernetes/api,
   apimachinery, apiextensions-apiserver, kube-aggregator), two records of facts, checked in:

   `gen_proto_schema.py facts <api> <apimachinery> <apiextensions-apiserver> <kube-aggregator>
   > apiserver/src/protobuf/go_fields.tsv` reads the Go struct tags of the API types and writes,
   per protobuf field, what the protobuf definitions do not carry: the field's JSON name, whether
   its Go type is a pointer (a zero value that is set), whether its JSON tag has `omitempty` (or
   `omitzero`), its position in the Go struct (the order `encoding/json` writes fields in), and
   whether it is inlined into its parent's JSON (`json:",inline"`).

   `gen_proto_schema.py protos <api> <apimachinery> <apiextensions-apiserver> <kube-aggregator>
   > apiserver/src/protobuf/proto_fields.tsv` reads the `generated.proto` files (what
   go-to-protobuf wrote for that release, the messages kube-apiserver speaks): message names,
   field tags, scalar kinds, repeated fields, maps and message references.

   Rerun both when the Kubernetes version changes.

2. `gen_proto_schema.py table <proto_fields.tsv> <go_fields.tsv> <k8s-openapi-x/src/v1_NN>
   > apiserver/src/protobuf/schema.rs` joins every protobuf field with its Go facts by (package,
   message, tag); the top-level kinds come from k8s-openapi's `Resource` impls. It fails, naming
   them, when a served kind has no message; the JSON fields k8s-openapi knows for a tabled message
   that no protobuf field carries are listed (`JSON_ONLY`: objects holding them are answered in
   JSON, as a protobuf client would lose them).

apiserver/tests/proto_schema_drift.rs runs step 2 offline on the checked-in facts and the
k8s-openapi crate cargo resolved, and fails when the checked-in table differs. k8s-pb (a
dev-dependency) cross-checks the codec's bytes in apiserver/src/protobuf/tests.rs.
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
    dirs = proto_dirs(repos)
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


def proto_dirs(repos):
    """(directory, module) of every Go package whose types are served, as in `facts`."""
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
    return dirs


SCALARS = {"string", "bytes", "bool", "int32", "int64", "double"}


def protos(repos):
    """The messages of every `generated.proto` of the served packages, one row per field."""
    rows = []
    for d, module in proto_dirs(repos):
        path = os.path.join(d, "generated.proto")
        if not os.path.exists(path):
            continue
        text = open(path).read()
        package = re.search(r"^package ([\w.]+);", text, re.M).group(1)
        if package.removeprefix("k8s.io.").replace(".", "/") != module:
            sys.exit(f"{path}: package {package} is not the module {module}")
        # Comments first: they quote field declarations in prose.
        text = re.sub(r"//[^\n]*", "", text)
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        for m in re.finditer(r"^message (\w+) \{(.*?)^\}", text, re.M | re.S):
            name, body = m.group(1), m.group(2)
            rows.append(("message", module, name))
            for line in body.split("\n"):
                line = line.strip()
                if not line:
                    continue
                fm = re.fullmatch(r"(?:(optional|repeated) ([\w.]+)|map<string, ([\w.]+)>) (\w+) = (\d+);", line)
                if not fm:
                    sys.exit(f"{path}: message {name}: cannot read `{line}`")
                label = {"optional": "single", "repeated": "repeated", None: "map"}[fm.group(1)]
                ty = fm.group(2) or fm.group(3)
                if ty in SCALARS:
                    kind, target = ty, "-"
                elif re.fullmatch(r"(u?int|s?fixed)(32|64)|float|sint(32|64)", ty):
                    sys.exit(f"{path}: {name}.{fm.group(4)}: protobuf kind {ty} not supported")
                elif ty.startswith("."):
                    mod, _, msg = ty.removeprefix(".k8s.io.").rpartition(".")
                    kind, target = "message", mod.replace(".", "/") + "." + msg
                else:
                    kind, target = "message", f"{module}.{ty}"
                rows.append(("field", module, name, fm.group(4), kind, label, fm.group(5), target))
    print("# The protobuf messages of the served API packages: GENERATED by")
    print("# apiserver/scripts/gen_proto_schema.py protos (from their generated.proto); do not edit.")
    print("# message\tmodule\tname  |  field\tmodule\tmessage\tfield\tkind\tlabel\ttag\ttarget")
    for r in rows:
        print("\t".join(r))


def read_protos(path):
    """module -> {message: [(field, kind, label, tag, target, packed)]} from `protos`' record
    (proto2: repeated numbers are not packed)."""
    messages = {}
    for line in open(path):
        if line.startswith("#"):
            continue
        r = line.rstrip("\n").split("\t")
        if r[0] == "message":
            messages.setdefault(r[1], {})[r[2]] = []
        else:
            _, module, name, field, kind, label, tag, target = r
            messages[module][name].append((field, kind, label, int(tag), "" if target == "-" else target, False))
    return messages


def openapi_fields(openapi_root):
    """(module, normalized struct name) -> the JSON field names k8s-openapi serializes."""
    fields = {}
    for dirpath, _, files in os.walk(openapi_root):
        module = os.path.relpath(dirpath, openapi_root).replace(os.sep, "/")
        for f in files:
            if not f.endswith(".rs") or f == "mod.rs":
                continue
            text = open(os.path.join(dirpath, f)).read()
            for m in re.finditer(r"^pub struct (\w+) \{", text, re.M):
                names = re.findall(r'serialize_field\(&mut state, "(\w+)"', text)
                fields[(module, norm(m.group(1)))] = [n for n in names if n not in ("apiVersion", "kind")]
    return fields


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


def table(protos_path, facts_path, openapi_root):
    messages = read_protos(protos_path)
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
    # Only the messages reachable from the served kinds are tabled (the packages also hold
    # versions and kinds this server does not serve).
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
    # Every JSON field k8s-openapi serializes must have a protobuf field, or a protobuf client
    # would lose it (the JSON -> protobuf walk has nowhere to put it).
    known = openapi_fields(openapi_root)
    lost = []
    for full, special, _, order in out:
        module, name = full.split(".")
        if special is None and (module, norm(name)) in known:
            lost.extend(f"{full}.{f}" for f in known[(module, norm(name))] if f not in order)
    if uncovered:
        sys.exit("served kinds without a protobuf message (are the facts from the same Kubernetes release "
                 "as k8s-openapi's version module?): " + ", ".join(f"{a} {k}" for a, k in uncovered))
    print("//! The protobuf messages of the built-in types and their JSON form: GENERATED by")
    print("//! `apiserver/scripts/gen_proto_schema.py table` from `proto_fields.tsv` (the release's")
    print("//! generated.proto) and `go_fields.tsv` (the Go struct tags); do not edit.")
    if missing:
        print("//!")
        print("//! Protobuf fields without a Go struct tag of their own (their Go type is another type's")
        print("//! alias), named as in the .proto file, in camelCase with pointer semantics:")
        for m in missing:
            print(f"//! - {m}")
    if lost:
        print("//!")
        print("//! JSON fields of k8s-openapi's types that the facts' generated.proto lacks (added to the")
        print("//! release after the snapshot the facts were taken from): `JSON_ONLY`.")
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
    print("/// `message.field` JSON fields k8s-openapi serializes that no protobuf field carries: an object")
    print("/// holding one is answered in JSON (a protobuf client would lose the field).")
    print("#[cfg_attr(not(test), allow(dead_code))] // listed for the tests and the README")
    print("pub static JSON_ONLY: &[&str] = &[")
    for f in lost:
        print(f'    "{f}",')
    print("];")



if __name__ == "__main__":
    if len(sys.argv) == 6 and sys.argv[1] == "facts":
        facts(sys.argv[2:])
    elif len(sys.argv) == 6 and sys.argv[1] == "protos":
        protos(sys.argv[2:])
    elif len(sys.argv) == 5 and sys.argv[1] == "table":
        table(*sys.argv[2:])
    else:
        sys.exit(__doc__)
