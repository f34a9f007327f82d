#!/usr/bin/env python3
"""A strict parser of the Prometheus text exposition format, version 0.0.4,
written from the format's specification (prometheus.io, "Exposition
formats"), for the tests of GET /metrics.

  promparse.py [--require-meta] [--value SERIES]... FILE|-
  promparse.py --self-test

Checks: metric and label name grammar; label values with only the escapes
\\\\, \\" and \\n; HELP (escapes \\\\ and \\n) and TYPE at most once per family
and before its first sample; every line of a family in one group; TYPE one
of counter, gauge, histogram, summary, untyped; sample names that match
their family's type (a counter family's name ends in _total; a histogram
has only NAME_bucket with an le label, NAME_sum and NAME_count; a summary
NAME with a quantile label, NAME_sum and NAME_count); values as Go's
ParseFloat reads them (including +Inf, -Inf, NaN); optional integer
millisecond timestamps; no duplicate label in a sample and no duplicate
series; histogram buckets cumulative, with le="+Inf" equal to _count; the
text ends with a newline. --require-meta also demands HELP and TYPE for
every family (coapgw's own rule).

The first violation is reported as "FILE:LINE: message" on stderr with exit
status 1. On success, "ok: N families, M samples" on stdout and status 0;
--value SERIES (as `name{a="x",b="y"}`, labels in any order) prints the
value of that series, one per line, and exits 3 if one is absent.
"""
import math
import re
import sys

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
FLOAT = re.compile(r"[+-]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                   r"|[iI][nN][fF](?:[iI][nN][iI][tT][yY])?|[nN][aA][nN])")
TIMESTAMP = re.compile(r"-?[0-9]+")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")


class ParseError(Exception):
    def __init__(self, line, msg):
        super().__init__(msg)
        self.line = line


def parse_float(tok, line, what):
    if not FLOAT.fullmatch(tok):
        raise ParseError(line, "%s %r is not a float" % (what, tok))
    low = tok.lower().lstrip("+-")
    if low.startswith("inf"):
        return -math.inf if tok.startswith("-") else math.inf
    if low == "nan":
        if tok[0] in "+-":  # Go's ParseFloat refuses a signed NaN
            raise ParseError(line, "%s %r is not a float" % (what, tok))
        return math.nan
    return float(tok)


class Family:
    def __init__(self, name):
        self.name = name
        self.type = None
        self.help = None
        self.samples = []  # (line, sample name, labels dict, value)
        self.closed = False  # another family's lines came after this one's


class Parser:
    def __init__(self, require_meta=False):
        self.require_meta = require_meta
        self.families = {}
        self.current = None
        self.series = set()
        self.values = {}

    # --- tokens ---

    @staticmethod
    def skip_blanks(s, i):
        while i < len(s) and s[i] in " \t":
            i += 1
        return i

    def name_at(self, s, i, regex, line, what):
        m = regex.match(s, i)
        if not m:
            raise ParseError(line, "expected a %s at column %d" % (what, i + 1))
        return m.group(0), m.end()

    def label_value(self, s, i, line):
        """s[i] is the opening quote; returns (value, index after the closing quote)."""
        out = []
        i += 1
        while i < len(s):
            c = s[i]
            if c == '"':
                return "".join(out), i + 1
            if c == "\\":
                if i + 1 >= len(s) or s[i + 1] not in '\\"n':
                    raise ParseError(line, "invalid escape in a label value at column %d" % (i + 1))
                out.append("\n" if s[i + 1] == "n" else s[i + 1])
                i += 2
                continue
            out.append(c)
            i += 1
        raise ParseError(line, "unterminated label value")

    def labels(self, s, i, line):
        """s[i] is '{'; returns (labels dict, index after '}')."""
        labels = {}
        i = self.skip_blanks(s, i + 1)
        while True:
            if i < len(s) and s[i] == "}":
                return labels, i + 1
            name, i = self.name_at(s, i, LABEL_NAME, line, "label name")
            if name.startswith("__"):
                raise ParseError(line, "label name %s is reserved" % name)
            if name in labels:
                raise ParseError(line, "label %s repeated" % name)
            i = self.skip_blanks(s, i)
            if i >= len(s) or s[i] != "=":
                raise ParseError(line, "expected '=' after label %s" % name)
            i = self.skip_blanks(s, i + 1)
            if i >= len(s) or s[i] != '"':
                raise ParseError(line, "expected '\"' to open the value of label %s" % name)
            labels[name], i = self.label_value(s, i, line)
            i = self.skip_blanks(s, i)
            if i < len(s) and s[i] == ",":
                i = self.skip_blanks(s, i + 1)
            elif i >= len(s) or s[i] != "}":
                raise ParseError(line, "expected ',' or '}' after label %s" % name)

    # --- families ---

    def family_of(self, sample):
        for suffix, types in (("_bucket", ("histogram",)), ("_sum", ("histogram", "summary")),
                              ("_count", ("histogram", "summary"))):
            if sample.endswith(suffix):
                base = self.families.get(sample[: -len(suffix)])
                if base and base.type in types:
                    return base
        return self.families.get(sample)

    def enter(self, fam, line):
        """The lines of one family come as one group."""
        if self.current is fam:
            return
        if fam.closed:
            raise ParseError(line, "lines of %s are not in one group" % fam.name)
        if self.current:
            self.current.closed = True
        self.current = fam

    def meta(self, s, line):
        i = self.skip_blanks(s, 1)
        m = re.compile(r"(HELP|TYPE)[ \t]").match(s, i)
        if not m:
            return  # a plain comment
        kind = m.group(1)
        i = self.skip_blanks(s, m.end())
        name, i = self.name_at(s, i, METRIC_NAME, line, "metric name")
        fam = self.families.get(name)
        if not fam:
            fam = self.families[name] = Family(name)
        self.enter(fam, line)
        if kind == "TYPE":
            if fam.type is not None:
                raise ParseError(line, "second TYPE for %s" % name)
            if fam.samples:
                raise ParseError(line, "TYPE for %s after its samples" % name)
            if i >= len(s) or s[i] not in " \t":
                raise ParseError(line, "TYPE %s without a type" % name)
            t = s[i:].strip(" \t")
            if t not in TYPES:
                raise ParseError(line, "unknown type %r" % t)
            if t == "counter" and not name.endswith("_total"):
                raise ParseError(line, "counter %s does not end in _total" % name)
            fam.type = t
            return
        if fam.help is not None:
            raise ParseError(line, "second HELP for %s" % name)
        if fam.samples:
            raise ParseError(line, "HELP for %s after its samples" % name)
        text = s[i + 1:] if i < len(s) else ""
        if i < len(s) and s[i] not in " \t":
            raise ParseError(line, "expected a blank after the metric name")
        j = 0
        while j < len(text):
            if text[j] == "\\":
                if j + 1 >= len(text) or text[j + 1] not in "\\n":
                    raise ParseError(line, "invalid escape in HELP")
                j += 1
            j += 1
        fam.help = text

    # --- samples ---

    def check_name(self, fam, sample, labels, line):
        t = fam.type or "untyped"
        base = fam.name
        if t == "histogram":
            if sample == base + "_bucket":
                if "le" not in labels:
                    raise ParseError(line, "%s without an le label" % sample)
                parse_float(labels["le"], line, "le")
            elif sample not in (base + "_sum", base + "_count"):
                raise ParseError(line, "%s is not a sample name of histogram %s" % (sample, base))
            elif "le" in labels:
                raise ParseError(line, "%s with an le label" % sample)
        elif t == "summary":
            if sample == base:
                if "quantile" not in labels:
                    raise ParseError(line, "%s without a quantile label" % sample)
                parse_float(labels["quantile"], line, "quantile")
            elif sample not in (base + "_sum", base + "_count"):
                raise ParseError(line, "%s is not a sample name of summary %s" % (sample, base))
        elif sample != base:
            raise ParseError(line, "%s is not the name of %s %s" % (sample, t, base))

    def sample(self, s, line):
        i = self.skip_blanks(s, 0)
        name, i = self.name_at(s, i, METRIC_NAME, line, "metric name")
        labels = {}
        j = self.skip_blanks(s, i)
        if j < len(s) and s[j] == "{":
            labels, i = self.labels(s, j, line)
        rest = s[i:]
        if not rest or rest[0] not in " \t":
            raise ParseError(line, "expected a blank before the value")
        toks = rest.split()
        if len(toks) not in (1, 2):
            raise ParseError(line, "expected a value and an optional timestamp")
        value = parse_float(toks[0], line, "value")
        if len(toks) == 2 and not TIMESTAMP.fullmatch(toks[1]):
            raise ParseError(line, "timestamp %r is not an integer" % toks[1])
        fam = self.family_of(name)
        if not fam:
            fam = self.families[name] = Family(name)
        self.enter(fam, line)
        if self.require_meta and (fam.type is None or fam.help is None):
            raise ParseError(line, "%s has no %s before its samples" %
                             (fam.name, "TYPE" if fam.type is None else "HELP"))
        self.check_name(fam, name, labels, line)
        key = (name, tuple(sorted(labels.items())))
        if key in self.series:
            raise ParseError(line, "duplicate series %s" % series_str(name, labels))
        self.series.add(key)
        self.values[key] = toks[0]
        fam.samples.append((line, name, labels, value))

    # --- whole text ---

    def check_histograms(self):
        for fam in self.families.values():
            if fam.type != "histogram":
                continue
            groups = {}
            for line, name, labels, value in fam.samples:
                rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
                g = groups.setdefault(rest, {"buckets": [], "count": None, "line": line})
                if name.endswith("_bucket"):
                    g["buckets"].append((parse_float(labels["le"], line, "le"), value, line))
                elif name.endswith("_count"):
                    g["count"] = (value, line)
            for g in groups.values():
                b = g["buckets"]
                if not b or b[-1][0] != math.inf:
                    raise ParseError(g["line"], '%s has no le="+Inf" bucket last' % fam.name)
                for (le0, v0, _), (le1, v1, l1) in zip(b, b[1:]):
                    if le1 <= le0:
                        raise ParseError(l1, "%s buckets not in increasing le order" % fam.name)
                    if v1 < v0:
                        raise ParseError(l1, "%s buckets not cumulative" % fam.name)
                if g["count"] is None:
                    raise ParseError(g["line"], "%s has no _count" % fam.name)
                if g["count"][0] != b[-1][1]:
                    raise ParseError(g["count"][1], '%s_count differs from le="+Inf"' % fam.name)

    def parse(self, text):
        if "\r" in text:
            raise ParseError(text[: text.index("\r")].count("\n") + 1, "carriage return")
        if text and not text.endswith("\n"):
            raise ParseError(text.count("\n") + 1, "no newline at the end")
        for n, s in enumerate(text.split("\n")[:-1], 1):
            stripped = s.lstrip(" \t")
            if not stripped:
                continue
            if stripped.startswith("#"):
                self.meta(stripped, n)
            else:
                self.sample(s, n)
        self.check_histograms()
        return sum(len(f.samples) for f in self.families.values())


def series_str(name, labels):
    if not labels:
        return name
    return name + "{" + ",".join('%s="%s"' % kv for kv in sorted(labels.items())) + "}"


def parse_series(spec):
    p = Parser()
    name, i = p.name_at(spec, 0, METRIC_NAME, 0, "metric name")
    labels = {}
    if i < len(spec) and spec[i] == "{":
        labels, i = p.labels(spec, i, 0)
    return (name, tuple(sorted(labels.items())))


GOOD = [
    "",
    "# HELP a_total A counter.\n# TYPE a_total counter\na_total 1\n",
    '# TYPE g gauge\ng{a="x\\\\y\\"z\\n",b="2",} -Inf 1700000000000\ng{a="2"} NaN\n',
    "# a plain comment\nu 1e-3\nv +Inf\n",
    '# TYPE h histogram\nh_bucket{le="0.5"} 1\nh_bucket{le="+Inf"} 2\nh_sum 0.7\nh_count 2\n',
    '# TYPE s summary\ns{quantile="0.9"} 3\ns_sum 4\ns_count 2\n',
    "# HELP x line\\nbreak and back\\\\slash\nx 2\n",
]
BAD = [
    ("a 1", "no trailing newline"),
    ("1a 1\n", "bad metric name"),
    ('a{1b="x"} 1\n', "bad label name"),
    ('a{__x="x"} 1\n', "reserved label name"),
    ('a{b="x\\t"} 1\n', "bad escape in a label value"),
    ('a{b="x} 1\n', "unterminated label value"),
    ('a{b="x",b="y"} 1\n', "repeated label"),
    ("a one\n", "value not a float"),
    ("a -NaN\n", "signed NaN"),
    ("a 1 1.5\n", "fractional timestamp"),
    ("a 1\na 2\n", "duplicate series"),
    ("# TYPE a gauge\n# TYPE a gauge\na 1\n", "second TYPE"),
    ("# HELP a x\n# HELP a y\na 1\n", "second HELP"),
    ("a 1\n# TYPE a gauge\n", "TYPE after samples"),
    ("# TYPE a_total counter\na_total 1\nb 1\na_total{x=\"1\"} 2\n", "family not grouped"),
    ("# TYPE a counter\na 1\n", "counter without _total"),
    ("# TYPE a_total counter\na_total{le=\"1\"} 1\na_total{le=\"1\"} 2\n", "duplicate labelled"),
    ('# TYPE h histogram\nh_sum{le="1"} 1\n', "le on a histogram's _sum"),
    ("# TYPE a blob\na 1\n", "unknown type"),
    ("# HELP a bad \\t escape\na 1\n", "bad escape in HELP"),
    ('# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n', "no +Inf bucket"),
    ('# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
     "buckets not cumulative"),
    ('# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 3\n', "+Inf differs from count"),
    ("# TYPE h histogram\nh_bucket 1\n", "bucket without le"),
    ("# TYPE h histogram\nh 1\n", "plain sample in a histogram"),
    ("# TYPE s summary\ns 1\n", "summary sample without quantile"),
    ("a 1\r\n", "carriage return"),
    ("a{b=\"1\"}1\n", "no blank before the value"),
]


def self_test():
    failures = 0
    for text in GOOD:
        try:
            Parser().parse(text)
        except ParseError as e:
            failures += 1
            print("FAIL: rejected good input %r: line %d: %s" % (text, e.line, e))
    for text, why in BAD:
        try:
            Parser().parse(text)
            failures += 1
            print("FAIL: accepted bad input (%s): %r" % (why, text))
        except ParseError:
            pass
    p = Parser(require_meta=True)
    try:
        p.parse("a 1\n")
        failures += 1
        print("FAIL: --require-meta accepted a family without HELP and TYPE")
    except ParseError:
        pass
    print("self-test: %d good, %d bad inputs, %d failure(s)" % (len(GOOD), len(BAD), failures))
    return 1 if failures else 0


def main(argv):
    args = argv[1:]
    if args == ["--self-test"]:
        return self_test()
    require_meta, wanted, path = False, [], None
    while args:
        a = args.pop(0)
        if a == "--require-meta":
            require_meta = True
        elif a == "--value" and args:
            wanted.append(args.pop(0))
        elif path is None:
            path = a
        else:
            print(__doc__, file=sys.stderr)
            return 2
    if path is None:
        print(__doc__, file=sys.stderr)
        return 2
    raw = sys.stdin.buffer.read() if path == "-" else open(path, "rb").read()
    p = Parser(require_meta)
    try:
        text = raw.decode("utf-8")
        n = p.parse(text)
    except UnicodeDecodeError as e:
        print("%s:%d: not UTF-8" % (path, raw[: e.start].count(b"\n") + 1), file=sys.stderr)
        return 1
    except ParseError as e:
        print("%s:%d: %s" % (path, e.line, e), file=sys.stderr)
        return 1
    if not wanted:
        print("ok: %d families, %d samples" % (len(p.families), n))
        return 0
    status = 0
    for spec in wanted:
        v = p.values.get(parse_series(spec))
        if v is None:
            status = 3
        print(v if v is not None else "absent")
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv))
