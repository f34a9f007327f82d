#!/usr/bin/env python3
"""Checks a Grafana dashboard (docs/grafana/coapgw.json) against a scrape
of coapgw's /metrics, for tests/integration/test_grafana.sh.

  grafana_check.py DASHBOARD.json METRICS.txt

The dashboard: valid JSON, importable (an __inputs entry DS_PROMETHEUS of
type datasource), unique panel ids, and every panel but rows has the
datasource ${DS_PROMETHEUS} and at least one target, each with that
datasource and a PromQL expression; so has every query variable. Every expression (and every templating
query) is read for the metric names it selects: string literals, range
selectors and grouping clauses (by, without, on, ignoring, group_left,
group_right) are taken out, identifiers followed by "(" are functions or
aggregations, the rest are metric names. Each must be a family of the
scrape (promparse.py parses it, strictly, HELP and TYPE required), a
histogram's _bucket, _sum and _count included, and must have at least one
sample there. The labels an expression groups by or matches on must be
on some series of the metrics it selects (instance and job are added by
Prometheus at scrape time and are exempt), and rate(), irate() and
increase() take counters (or a histogram's _bucket, _sum, _count) only.

Prints one line per expression checked; exit 1 with every problem listed
on stderr.
"""
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import promparse  # noqa: E402

DS = "${DS_PROMETHEUS}"
TARGET_LABELS = {"instance", "job"}
KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan"}
FUNCTIONS = {"sum", "avg", "min", "max", "count", "topk", "bottomk", "quantile", "stddev",
             "rate", "irate", "increase", "delta", "deriv", "histogram_quantile",
             "clamp_min", "clamp_max", "abs", "vector", "scalar",
             "avg_over_time", "max_over_time", "min_over_time", "time", "absent"}
GROUPING = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
MATCHERS = re.compile(r"([a-zA-Z_:][a-zA-Z0-9_:]*)?\s*\{([^}]*)\}")
MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*,?')
LABEL_VALUES = re.compile(r"label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)")
RATED = re.compile(r"\b(?:rate|irate|increase)\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)")
IDENT = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")


def parse_promql(expr):
    """(metric names, labels used, metrics under rate()) of one expression."""
    labels = set()
    metrics = set()
    rated = set(RATED.findall(expr))
    lv = LABEL_VALUES.fullmatch(expr.strip())
    if lv:  # a templating query: label_values(SELECTOR, LABEL)
        expr = lv.group(1)
        labels.add(lv.group(2))
    for m in GROUPING.finditer(expr):
        labels |= {x.strip() for x in m.group(2).split(",") if x.strip()}
    expr = GROUPING.sub(" ", expr)
    for m in MATCHERS.finditer(expr):
        body, pos = m.group(2), 0
        while pos < len(body):
            mm = MATCHER.match(body, pos)
            if not mm:
                raise ValueError("cannot read label matchers {%s}" % body)
            labels.add(mm.group(1))
            pos = mm.end()
    expr = MATCHERS.sub(lambda m: " %s " % (m.group(1) or ""), expr)
    expr = re.sub(r"\[[^\]]*\]", " ", expr)
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', " ", expr)
    for m in IDENT.finditer(expr):
        name = m.group(0)
        if m.start() > 0 and (expr[m.start() - 1].isdigit() or expr[m.start() - 1] == "."):
            continue  # the exponent or tail of a number
        follows = expr[m.end():].lstrip()
        if follows.startswith("("):
            if name not in FUNCTIONS:
                raise ValueError("unknown function %s" % name)
        elif name.lower() not in KEYWORDS:
            metrics.add(name)
    return metrics, labels, rated


def check_query(expr, scrape, problems):
    try:
        metrics, labels, rated = parse_promql(expr)
    except ValueError as e:
        problems.append("%s: %s" % (expr, e))
        return
    if not metrics:
        problems.append("%s: selects no metric" % expr)
    seen = set()
    for name in sorted(metrics):
        fam = scrape.family_of(name)
        if not fam or fam.type is None:
            problems.append("%s: %s is not in /metrics" % (expr, name))
            continue
        samples = [s for s in fam.samples if s[1] == name]
        if not samples:
            problems.append("%s: %s has no sample in /metrics" % (expr, name))
        for _, _, lab, _ in samples:
            seen |= set(lab)
        if name in rated and fam.type != "counter" and not name.endswith("_bucket") \
                and not name.endswith(("_sum", "_count")):
            problems.append("%s: rate of %s, a %s" % (expr, name, fam.type))
    for label in sorted(labels - TARGET_LABELS - seen):
        problems.append("%s: no series of %s has the label %s" % (expr, ", ".join(sorted(metrics)), label))
    print("checked %s" % ", ".join(sorted(metrics)))


def check_dashboard(dash, scrape, problems):
    inputs = {i.get("name"): i for i in dash.get("__inputs", [])}
    if inputs.get("DS_PROMETHEUS", {}).get("type") != "datasource":
        problems.append("no __inputs entry DS_PROMETHEUS of type datasource")
    panels = list(dash.get("panels", []))
    for p in dash.get("panels", []):
        panels += p.get("panels", [])  # collapsed rows hold their panels
    ids = [p.get("id") for p in panels]
    if len(ids) != len(set(ids)):
        problems.append("panel ids are not unique")
    queries = 0
    for p in panels:
        if p.get("type") == "row":
            continue
        title = p.get("title", "?")
        if (p.get("datasource") or {}).get("uid") != DS:
            problems.append("panel %r: datasource is not %s" % (title, DS))
        if not p.get("targets"):
            problems.append("panel %r: no query" % title)
        for t in p.get("targets", []):
            if (t.get("datasource") or {}).get("uid") != DS:
                problems.append("panel %r, query %s: datasource is not %s" % (title, t.get("refId"), DS))
            if not t.get("expr"):
                problems.append("panel %r, query %s: no expression" % (title, t.get("refId")))
                continue
            check_query(t["expr"], scrape, problems)
            queries += 1
    for v in dash.get("templating", {}).get("list", []):
        q = v.get("query")
        q = q.get("query") if isinstance(q, dict) else q
        if v.get("type") != "query":
            continue
        if (v.get("datasource") or {}).get("uid") != DS:
            problems.append("variable %r: datasource is not %s" % (v.get("name"), DS))
        if q:
            check_query(q, scrape, problems)
    return queries


def main(argv):
    if len(argv) != 3:
        print(__doc__.strip().split("\n\n")[1], file=sys.stderr)
        return 2
    try:
        with open(argv[1]) as f:
            dash = json.load(f)
    except ValueError as e:
        print("%s: not valid JSON: %s" % (argv[1], e), file=sys.stderr)
        return 1
    scrape = promparse.Parser(require_meta=True)
    with open(argv[2]) as f:
        scrape.parse(f.read())
    problems = []
    n = check_dashboard(dash, scrape, problems)
    for p in problems:
        print("PROBLEM: %s" % p, file=sys.stderr)
    print("%d queries, %d problems" % (n, len(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
